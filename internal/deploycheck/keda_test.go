package deploycheck

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The rules KEDA's operator applies to a kafka trigger when it builds the
// scaler, as in KEDA v2.21.0: pkg/scalers/kafka_scaler.go (the metadata
// struct's keda tags, kafkaMetadata.Validate, parseTLS, parseSASL) and
// apis/keda/v1alpha1/scaledobject_types.go (CheckReplicaCountBoundsAreValid).
// A ScaledObject that breaks one is accepted by the API server (the CRD's
// schema cannot say it) and then never scales: the operator only logs it.

// kedaKafkaTrigger is one trigger: its metadata and the parameter names its
// TriggerAuthentication supplies (values come from Secrets at run time).
type kedaKafkaTrigger struct {
	metadata   map[string]string
	authParams []string
}

// param reads a parameter the way KEDA's typed config does for tags with
// order=triggerMetadata;authParams: from the metadata, else from the
// authentication. A parameter from a Secret counts as set.
func (tr kedaKafkaTrigger) param(name string, fromAuth bool) (string, bool) {
	if v, ok := tr.metadata[name]; ok {
		return v, true
	}
	if fromAuth && slices.Contains(tr.authParams, name) {
		return "set-from-secret", true
	}
	return "", false
}

// kedaKafkaErrors returns every rule of KEDA's kafka scaler the trigger
// breaks.
func kedaKafkaErrors(tr kedaKafkaTrigger) []string {
	var errs []string
	bad := func(f string, a ...any) { errs = append(errs, fmt.Sprintf(f, a...)) }
	for _, required := range []string{"bootstrapServers", "consumerGroup"} {
		if v, ok := tr.param(required, false); !ok || v == "" {
			bad("%s is required", required)
		}
	}
	integer := func(name string, def int64) int64 {
		v, ok := tr.metadata[name]
		if !ok {
			return def
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			bad("%s %q is not an integer", name, v)
		}
		return n
	}
	if integer("lagThreshold", 10) <= 0 {
		bad(`"lagThreshold" must be positive number`)
	}
	if integer("activationLagThreshold", 0) < 0 {
		bad(`"activationLagThreshold" must be a non-negative number`)
	}
	boolean := func(name string, def bool) bool {
		v, ok := tr.metadata[name]
		if !ok {
			return def
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			bad("%s %q is not a boolean", name, v)
		}
		return b
	}
	allowIdle := boolean("allowIdleConsumers", false)
	boolean("excludePersistentLag", false)
	boolean("scaleToZeroOnInvalidOffset", false)
	limitToLag := boolean("limitToPartitionsWithLag", false)
	even := boolean("ensureEvenDistributionOfPartitions", false)
	fullMetadata := boolean("fullMetadata", true)
	boolean("unsafeSsl", false)
	enum := func(name string, fromAuth bool, allowed ...string) string {
		v, ok := tr.param(name, fromAuth)
		if ok && !slices.Contains(allowed, v) {
			bad("%s %q is not one of %v", name, v, allowed)
		}
		return v
	}
	enum("offsetResetPolicy", false, "latest", "earliest")
	topic := tr.metadata["topic"]
	if allowIdle && limitToLag {
		bad("allowIdleConsumers and limitToPartitionsWithLag cannot be set simultaneously")
	}
	if topic == "" && limitToLag {
		bad("topic must be specified when using limitToPartitionsWithLag")
	}
	if limitToLag && even {
		bad("limitToPartitionsWithLag and ensureEvenDistributionOfPartitions cannot be set simultaneously")
	}
	if topic == "" && even {
		bad("topic must be specified when using ensureEvenDistributionOfPartitions")
	}
	if !fullMetadata && topic == "" {
		bad("topic must be specified when fullMetadata is false")
	}
	if v, ok := tr.metadata["partitionLimitation"]; ok && strings.TrimSpace(v) != "" {
		for part := range strings.SplitSeq(v, ",") {
			for n := range strings.SplitSeq(strings.TrimSpace(part), "-") {
				if _, err := strconv.ParseInt(strings.TrimSpace(n), 10, 32); err != nil {
					bad("invalid partition limitation: %s", part)
					break
				}
			}
		}
	}
	if enum("tls", true, "enable", "disable") == "enable" {
		_, cert := tr.param("cert", true)
		_, key := tr.param("key", true)
		if cert && !key {
			bad("key must be provided with cert")
		}
		if key && !cert {
			bad("cert must be provided with key")
		}
	}
	switch enum("sasl", true, "none", "plaintext", "scram_sha256", "scram_sha512", "oauthbearer", "gssapi") {
	case "plaintext", "scram_sha256", "scram_sha512":
		if !slices.Contains(tr.authParams, "username") {
			bad("no username given")
		}
		if !slices.Contains(tr.authParams, "password") {
			bad("no password given")
		}
	case "oauthbearer", "gssapi":
		bad("sasl %s: the chart never renders it", tr.metadata["sasl"])
	}
	return errs
}

func TestKEDAKafkaRulesCatchWhatKEDARefuses(t *testing.T) {
	good := map[string]string{
		"bootstrapServers": "kafka:9092", "consumerGroup": "attrsync-x", "topic": "t", "lagThreshold": "100",
		"allowIdleConsumers": "false", "offsetResetPolicy": "earliest",
	}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range good {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "-" {
				delete(m, kv[i])
			} else {
				m[kv[i]] = kv[i+1]
			}
		}
		return m
	}
	if errs := kedaKafkaErrors(kedaKafkaTrigger{metadata: good}); errs != nil {
		t.Fatalf("a valid trigger is refused: %v", errs)
	}
	for _, c := range []struct {
		trigger kedaKafkaTrigger
		want    string
	}{
		{kedaKafkaTrigger{metadata: with("limitToPartitionsWithLag", "true", "topic", "-", "allowIdleConsumers", "-")}, "topic must be specified when using limitToPartitionsWithLag"},
		{kedaKafkaTrigger{metadata: with("limitToPartitionsWithLag", "true", "allowIdleConsumers", "true")}, "allowIdleConsumers and limitToPartitionsWithLag cannot be set simultaneously"},
		{kedaKafkaTrigger{metadata: with("limitToPartitionsWithLag", "true", "ensureEvenDistributionOfPartitions", "true")}, "cannot be set simultaneously"},
		{kedaKafkaTrigger{metadata: with("ensureEvenDistributionOfPartitions", "true", "topic", "-")}, "topic must be specified when using ensureEvenDistributionOfPartitions"},
		{kedaKafkaTrigger{metadata: with("fullMetadata", "false", "topic", "-")}, "topic must be specified when fullMetadata is false"},
		{kedaKafkaTrigger{metadata: with("lagThreshold", "0")}, `"lagThreshold" must be positive number`},
		{kedaKafkaTrigger{metadata: with("lagThreshold", "1.5")}, `lagThreshold "1.5" is not an integer`},
		{kedaKafkaTrigger{metadata: with("activationLagThreshold", "-1")}, "must be a non-negative number"},
		{kedaKafkaTrigger{metadata: with("allowIdleConsumers", "no")}, `allowIdleConsumers "no" is not a boolean`},
		{kedaKafkaTrigger{metadata: with("offsetResetPolicy", "smallest")}, `offsetResetPolicy "smallest" is not one of`},
		{kedaKafkaTrigger{metadata: with("consumerGroup", "-")}, "consumerGroup is required"},
		{kedaKafkaTrigger{metadata: with("sasl", "scram_sha512"), authParams: []string{"username"}}, "no password given"},
		{kedaKafkaTrigger{metadata: with("sasl", "SCRAM-SHA-512"), authParams: []string{"username", "password"}}, `sasl "SCRAM-SHA-512" is not one of`},
		{kedaKafkaTrigger{metadata: with("tls", "enable"), authParams: []string{"ca", "cert"}}, "key must be provided with cert"},
		{kedaKafkaTrigger{metadata: with("partitionLimitation", "1,x-3")}, "invalid partition limitation: x-3"},
	} {
		errs := kedaKafkaErrors(c.trigger)
		if !slices.ContainsFunc(errs, func(e string) bool { return strings.Contains(e, c.want) }) {
			t.Errorf("%v %v: got %v, want an error with %q", c.trigger.metadata, c.trigger.authParams, errs, c.want)
		}
	}
}

// kedaSASL is KEDA's name for each of attrsync's SASL mechanisms.
var kedaSASL = map[string]string{"": "", "PLAIN": "plaintext", "SCRAM-SHA-256": "scram_sha256", "SCRAM-SHA-512": "scram_sha512"}

// TestChartScaledObject checks every ScaledObject the chart renders against
// KEDA's rules, and against what attrsync needs: one trigger per topic on
// the sync's own group and brokers, no idle consumers, at most as many
// replicas as partitions, credentials from the TriggerAuthentication, and a
// Deployment whose replica count KEDA alone sets.
func TestChartScaledObject(t *testing.T) {
	for _, c := range chartCases {
		_, docs := render(t, c.args...)
		var so manifest
		for _, d := range docs {
			if d.kind() == "ScaledObject" {
				so = d
			}
		}
		if so == nil {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			deploy := only(t, docs, "Deployment")
			cfg := loadConfigEnv(t, podConfig(t, docs), podEnv(t, deploy))
			if got := dig(t, so, "spec", "scaleTargetRef", "name"); got != deploy.name() {
				t.Errorf("scaleTargetRef %v, want the Deployment %s", got, deploy.name())
			}
			if r := dig(t, deploy, "spec", "replicas"); r != nil {
				t.Errorf("the Deployment sets replicas %v; with KEDA that fights the HPA on every upgrade", r)
			}
			minR, _ := dig(t, so, "spec", "minReplicaCount").(int)
			maxR, _ := dig(t, so, "spec", "maxReplicaCount").(int)
			if minR > maxR || maxR < 1 {
				t.Errorf("minReplicaCount %d, maxReplicaCount %d: KEDA refuses min above max", minR, maxR)
			}
			if maxR > 1 && cfg.RateLimit.Scope != "global" {
				t.Errorf("up to %d replicas with rate_limit.scope %q", maxR, cfg.RateLimit.Scope)
			}
			auth := map[string][]string{}
			for _, d := range docs {
				if d.kind() == "TriggerAuthentication" {
					refs, _ := dig(t, d, "spec", "secretTargetRef").([]any)
					for _, r := range refs {
						auth[d.name()] = append(auth[d.name()], dig(t, r, "parameter").(string))
					}
				}
			}
			triggers, _ := dig(t, so, "spec", "triggers").([]any)
			var topics []string
			for i, tr := range triggers {
				if dig(t, tr, "type") != "kafka" {
					t.Errorf("trigger %d: type %v, want kafka", i, dig(t, tr, "type"))
					continue
				}
				md := map[string]string{}
				for k, v := range dig(t, tr, "metadata").(map[string]any) {
					s, ok := v.(string)
					if !ok {
						t.Errorf("trigger %d: metadata %s is %T; KEDA's metadata values are strings", i, k, v)
					}
					md[k] = s
				}
				var params []string
				if ref := dig(t, tr, "authenticationRef"); ref != nil {
					name := dig(t, ref, "name").(string)
					var ok bool
					if params, ok = auth[name]; !ok {
						t.Errorf("trigger %d: authenticationRef %s is not rendered", i, name)
					}
				}
				for _, e := range kedaKafkaErrors(kedaKafkaTrigger{metadata: md, authParams: params}) {
					t.Errorf("trigger %d: KEDA refuses it: %s", i, e)
				}
				if md["allowIdleConsumers"] != "false" {
					t.Errorf("trigger %d: allowIdleConsumers %q, want \"false\"", i, md["allowIdleConsumers"])
				}
				if md["consumerGroup"] != cfg.Kafka.GroupID {
					t.Errorf("trigger %d: consumerGroup %q, but the sync's group is %q", i, md["consumerGroup"], cfg.Kafka.GroupID)
				}
				if md["bootstrapServers"] != strings.Join(cfg.Kafka.Brokers, ",") {
					t.Errorf("trigger %d: bootstrapServers %q, but the sync's brokers are %v", i, md["bootstrapServers"], cfg.Kafka.Brokers)
				}
				if md["offsetResetPolicy"] != string(cfg.Kafka.StartOffset) {
					t.Errorf("trigger %d: offsetResetPolicy %q, but the sync starts at %q", i, md["offsetResetPolicy"], cfg.Kafka.StartOffset)
				}
				if want := kedaSASL[string(cfg.Kafka.SASL.Mechanism)]; md["sasl"] != want {
					t.Errorf("trigger %d: sasl %q for the sync's %s", i, md["sasl"], cfg.Kafka.SASL.Mechanism)
				}
				if cfg.Kafka.TLS.Enabled != (md["tls"] == "enable") {
					t.Errorf("trigger %d: tls %q, but the sync's kafka.tls.enabled is %v", i, md["tls"], cfg.Kafka.TLS.Enabled)
				}
				topics = append(topics, md["topic"])
			}
			if !slices.Equal(topics, cfg.Kafka.Topics) {
				t.Errorf("triggers on topics %v, want one per topic of the sync %v", topics, cfg.Kafka.Topics)
			}
		})
	}
}
