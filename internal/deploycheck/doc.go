// Package deploycheck tests the files under deploy/ against the code they
// run, as their users would meet them. It holds only tests, in three tiers
// that the Makefile runs with what each needs:
//
//   - make test-deploy: the Helm chart linted and rendered with several sets
//     of values, every manifest validated strictly by kubeconform against
//     offline Kubernetes schemas and CRDs, the ScaledObject against KEDA's
//     kafka scaler rules, the rendered config through `attrsync validate`,
//     the compose file against the Compose specification;
//   - make test-image (TestImage*): the production image run with podman;
//   - make test-apiserver (TestAPIServer*): the chart applied to a real
//     kube-apiserver, dry run.
//
// A test whose tools or services are missing skips and says which, or fails
// under CI=true.
package deploycheck
