package deploycheck

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/testenv"
	kafkago "github.com/segmentio/kafka-go"
)

// The image tier (make test-image) runs the production image with podman,
// as a user would: the demo inside it, and `attrsync run` inside it against
// Kafka, Redis and the Iterable simulator on the host's loopback.

const imageAPIKey = "image-test-key-0123456789"

// image is the image under test; make test-image builds it and passes its
// name in ATTRSYNC_IMAGE.
func image(t *testing.T) string {
	t.Helper()
	return needEnv(t, "ATTRSYNC_IMAGE", "this test runs the built image (make test-image builds it and sets it)")
}

// needEnv returns the environment variable name. Without it the test skips
// with why, or fails under CI, where a tier must not pass by skipping.
func needEnv(t *testing.T, name, why string) string {
	t.Helper()
	if v := os.Getenv(name); v != "" {
		return v
	}
	msg := fmt.Sprintf("%s is not set: %s", name, why)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// podman runs podman with the OCI runtime these machines need
// (ATTRSYNC_OCI_RUNTIME, default /usr/sbin/runc) and returns its combined
// output. CONTAINERS_CONF comes from the environment (the Makefile sets it).
func podman(ctx context.Context, args ...string) (string, error) {
	runtime := os.Getenv("ATTRSYNC_OCI_RUNTIME")
	if runtime == "" {
		runtime = "/usr/sbin/runc"
	}
	cmd := exec.CommandContext(ctx, "podman", append([]string{"--runtime", runtime}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func mustPodman(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := podman(ctx, args...)
	if err != nil {
		t.Fatalf("podman %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// summaryValue reads one line of the demo's summary ("  dead letters   0").
func summaryValue(t *testing.T, out, label string) int {
	t.Helper()
	m := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(label) + `\s+(\d+)\s*$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("the demo's summary has no %q line:\n%s", label, out)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

func TestImageDemo(t *testing.T) {
	img := image(t)
	start := time.Now()
	// The demo's broker, Redis and simulator listen on the container's own
	// loopback; it needs no network (and so no CNI set-up on the host).
	out := mustPodman(t, "run", "--rm", "--network", "none", img, "demo", "-users", "400", "-events", "3000")
	t.Logf("attrsync demo in the container took %s", time.Since(start).Round(time.Millisecond))
	if got := summaryValue(t, out, "profiles in Iterable"); got != 400 {
		t.Errorf("the demo ended with %d profiles in Iterable, want 400:\n%s", got, out)
	}
	if got := summaryValue(t, out, "events consumed"); got != 3000 {
		t.Errorf("the demo consumed %d events, want 3000:\n%s", got, out)
	}
	if got := summaryValue(t, out, "dead letters"); got != 0 {
		t.Errorf("the demo dead-lettered %d events:\n%s", got, out)
	}
}

func TestImageMetadata(t *testing.T) {
	img := image(t)
	out := strings.TrimSpace(mustPodman(t, "image", "inspect", "--format", "{{.Size}} {{.Config.User}} {{json .Config.Entrypoint}}", img))
	f := strings.Fields(out)
	if len(f) != 3 {
		t.Fatalf("podman image inspect: %q", out)
	}
	size, _ := strconv.ParseInt(f[0], 10, 64)
	t.Logf("image %s: %.1f MB", img, float64(size)/1e6)
	// Kubernetes' runAsNonRoot can only verify a numeric user.
	uid, _, _ := strings.Cut(f[1], ":")
	if n, err := strconv.Atoi(uid); err != nil || n == 0 {
		t.Errorf("image user %q: want a numeric non-root uid", f[1])
	}
	if f[2] != `["/usr/local/bin/attrsync"]` {
		t.Errorf("entrypoint %s, want attrsync", f[2])
	}
	// Static binaries on an empty base: anything near a distro's size means
	// a base image crept in.
	if size > 80e6 {
		t.Errorf("image is %d bytes; the two static binaries and CA bundle are about 42 MB", size)
	}
}

// freePort returns a loopback TCP port nobody listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startProcess starts a host process that the test stops at its end.
func startProcess(t *testing.T, logName string, name string, args ...string) {
	t.Helper()
	logFile, err := os.Create(filepath.Join(t.TempDir(), logName))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = append(os.Environ(), "ITERABLE_API_KEY="+imageAPIKey)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(logFile.Name())
			t.Logf("%s output:\n%s", logName, b)
		}
	})
}

// waitFor polls cond until it holds or the timeout passes.
// seen, when given, says what was observed instead, for the failure message.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool, seen ...func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			msg := fmt.Sprintf("timed out after %s waiting for %s", timeout, what)
			for _, s := range seen {
				msg += ": " + s()
			}
			t.Fatal(msg)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitListening waits until something accepts connections on addr.
func waitListening(t *testing.T, addr string) {
	t.Helper()
	waitFor(t, 30*time.Second, addr+" to accept connections", func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

func getJSON(url string, v any) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// simProfile and simStats are the parts of the simulator's admin answers
// (/_sim/profiles, /_sim/stats) that the test reads.
type simProfile struct {
	Email      string         `json:"email"`
	DataFields map[string]any `json:"dataFields"`
}

type simStats struct {
	UsersFailed     int `json:"usersFailed"`
	TooManyRequests int `json:"tooManyRequests"`
	Profiles        int `json:"profiles"`
}

const (
	imageUsers      = 300
	imagePartitions = 3
)

// produceUsers writes rounds × imageUsers Debezium update events to
// topic, keyed by user id; in the last round user u's first_name becomes
// "<prefix>-<u>".
func produceUsers(t *testing.T, brokers []string, topic, prefix string, rounds int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	w := &kafkago.Writer{
		Addr: kafkago.TCP(brokers...), Topic: topic, Balancer: &kafkago.Hash{},
		RequiredAcks: kafkago.RequireAll, BatchSize: 500, BatchTimeout: time.Millisecond,
	}
	defer w.Close()
	msgs := make([]kafkago.Message, 0, rounds*imageUsers)
	for r := range rounds {
		for u := range imageUsers {
			name := fmt.Sprintf("%s-round%d-%d", prefix, r, u)
			if r == rounds-1 {
				name = fmt.Sprintf("%s-%d", prefix, u)
			}
			m := testenv.Upsert(u, testenv.Row{"id": u, "email": fmt.Sprintf("User%d@Example.com", u), "first_name": name, "plan": map[string]any{"tier": "pro"}})
			msgs = append(msgs, kafkago.Message{Key: m.Key, Value: m.Value})
		}
	}
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatalf("produce to %s: %v", topic, err)
	}
}

func createTopic(t *testing.T, brokers []string, topic string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := &kafkago.Client{Addr: kafkago.TCP(brokers...)}
	res, err := client.CreateTopics(ctx, &kafkago.CreateTopicsRequest{Topics: []kafkago.TopicConfig{
		{Topic: topic, NumPartitions: imagePartitions, ReplicationFactor: 1},
	}})
	if err != nil {
		t.Fatalf("create topic %s: %v", topic, err)
	}
	if err := res.Errors[topic]; err != nil {
		t.Fatalf("create topic %s: %v", topic, err)
	}
}

// waitProfiles waits until the simulator holds every user with the
// first_name of produceUsers' last round under prefix, and checks each.
func waitProfiles(t *testing.T, simURL, prefix string) {
	t.Helper()
	var profiles map[string]simProfile
	var last string // what the simulator held at the last look, for the timeout
	waitFor(t, 90*time.Second, "every user's "+prefix+" value in the simulator", func() bool {
		profiles = nil
		if err := getJSON(simURL+"/_sim/profiles", &profiles); err != nil {
			last = err.Error()
			return false
		}
		done := 0
		for _, p := range profiles {
			if strings.HasPrefix(fmt.Sprint(p.DataFields["firstName"]), prefix+"-") &&
				!strings.HasPrefix(fmt.Sprint(p.DataFields["firstName"]), prefix+"-round") {
				done++
			}
		}
		last = fmt.Sprintf("%d profiles, %d with their %s value", len(profiles), done, prefix)
		return len(profiles) == imageUsers && done == imageUsers
	}, func() string { return last })
	for _, p := range profiles {
		var u int
		if _, err := fmt.Sscanf(p.Email, "user%d@example.com", &u); err != nil {
			t.Errorf("unexpected profile %q", p.Email)
			continue
		}
		if p.DataFields["firstName"] != fmt.Sprintf("%s-%d", prefix, u) || p.DataFields["planTier"] != "pro" {
			t.Errorf("profile %s: %v, want firstName %s-%d, planTier pro", p.Email, p.DataFields, prefix, u)
		}
	}
}

// lag is the group's committed offsets behind the topic's end, summed over
// partitions; a partition without a committed offset counts whole.
func lag(t *testing.T, brokers []string, group, topic string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	client := &kafkago.Client{Addr: kafkago.TCP(brokers...)}
	parts := make([]int, imagePartitions)
	reqs := make([]kafkago.OffsetRequest, imagePartitions)
	for p := range parts {
		parts[p] = p
		reqs[p] = kafkago.LastOffsetOf(p)
	}
	ends, err := client.ListOffsets(ctx, &kafkago.ListOffsetsRequest{Topics: map[string][]kafkago.OffsetRequest{topic: reqs}})
	if err != nil {
		t.Fatalf("list offsets: %v", err)
	}
	committed, err := client.OffsetFetch(ctx, &kafkago.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: parts}})
	if err != nil {
		t.Fatalf("offset fetch: %v", err)
	}
	done := map[int]int64{}
	for _, p := range committed.Topics[topic] {
		done[p.Partition] = max(p.CommittedOffset, 0)
	}
	var total int64
	for _, p := range ends.Topics[topic] {
		total += p.LastOffset - done[p.Partition]
	}
	return total
}

// TestImageRun runs `attrsync run` in the container (its default command)
// with the host's network, against a real Kafka broker, a redis-server and
// the Iterable simulator on loopback; then SIGTERMs it.
func TestImageRun(t *testing.T) {
	img := image(t)
	brokers := strings.Split(needEnv(t, "ATTRSYNC_KAFKA_BROKERS", "this test needs a real Kafka broker (make test-image starts one)"), ",")
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatal("redis-server is missing: deploy/local/install-deps.sh installs it")
	}
	dir := t.TempDir()

	redisPort := freePort(t)
	startProcess(t, "redis.log", "redis-server", "--port", strconv.Itoa(redisPort), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no")

	waitListening(t, fmt.Sprintf("127.0.0.1:%d", redisPort))

	sim := filepath.Join(dir, "iterable-sim")
	if out, err := exec.Command("go", "build", "-o", sim, root+"cmd/iterable-sim").CombinedOutput(); err != nil {
		t.Fatalf("build iterable-sim: %v\n%s", err, out)
	}
	simURL := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	startProcess(t, "iterable-sim.log", sim, "-listen", strings.TrimPrefix(simURL, "http://"), "-api-key", imageAPIKey)
	waitListening(t, strings.TrimPrefix(simURL, "http://"))

	name := fmt.Sprintf("image-%d", time.Now().UnixNano())
	topic := "attrsync-" + name
	createTopic(t, brokers, topic)
	produceUsers(t, brokers, topic, "last", 4)

	telemetry := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	const grace = 10 * time.Second
	cfg := fmt.Sprintf(`sync: {name: %s}
kafka: {brokers: [%s], topics: [%s]}
redis: {url: "redis://127.0.0.1:%d/0"}
iterable:
  base_url: %s
  api_key: ${ITERABLE_API_KEY}
  identifier: {source: email, as: email}
  attributes:
    - {from: first_name, to: firstName}
    - {from: plan.tier, to: planTier}
batch: {max_wait: 100ms}
rate_limit: {scope: global}
shutdown_grace: %s
telemetry: {listen: %q, log_format: text}
`, name, strings.Join(brokers, ", "), topic, redisPort, simURL, grace, telemetry)
	// The container runs as uid 65532: the mounted directory and file must
	// be readable by others (t.TempDir is 0700).
	cfgDir := filepath.Join(dir, "etc")
	if err := os.Mkdir(cfgDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cfgDir, "attrsync.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	// run starts the image's default command (run -c /etc/attrsync/attrsync.yaml)
	// with the host's network, as the container named container.
	run := func(container string) {
		mustPodman(t, "run", "-d", "--name", container, "--network", "host",
			"-e", "ITERABLE_API_KEY="+imageAPIKey, "-v", cfgDir+":/etc/attrsync:ro", img)
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			logs, _ := podman(ctx, "logs", container)
			if t.Failed() {
				t.Logf("%s logs:\n%s", container, logs)
			}
			if strings.Contains(logs, imageAPIKey) {
				t.Errorf("the API key appears in %s's logs", container)
			}
			_, _ = podman(ctx, "rm", "-f", "-t", "0", container)
		})
	}
	// stop sends SIGTERM and checks the process drains and exits 0 within
	// the grace.
	stop := func(container string) {
		start := time.Now()
		mustPodman(t, "kill", "--signal", "TERM", container)
		ctx, cancel := context.WithTimeout(context.Background(), grace+20*time.Second)
		defer cancel()
		out, err := podman(ctx, "wait", container)
		took := time.Since(start)
		if err != nil {
			t.Fatalf("podman wait: %v\n%s", err, out)
		}
		if code := strings.TrimSpace(out); code != "0" {
			t.Errorf("%s: exit status %s after SIGTERM, want 0", container, code)
		}
		if took > grace {
			t.Errorf("%s: exit took %s after SIGTERM, more than shutdown_grace %s", container, took, grace)
		}
		t.Logf("%s exited after SIGTERM in %s", container, took.Round(time.Millisecond))
	}

	first := "attrsync-" + name
	run(first)
	// The process inside is not root: read its real and effective ids from
	// the host's /proc, where the container's process is an ordinary one.
	pid := strings.TrimSpace(mustPodman(t, "inspect", "--format", "{{.State.Pid}}", first))
	status, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		t.Fatalf("the container's process %s: %v", pid, err)
	}
	uids := regexp.MustCompile(`(?m)^Uid:\s+(.*)$`).FindSubmatch(status)
	if uids == nil {
		t.Fatalf("no Uid line in /proc/%s/status", pid)
	}
	for _, id := range strings.Fields(string(uids[1])) {
		if id == "0" {
			t.Errorf("the container's process runs with uid 0 (Uid: %s)", uids[1])
		}
	}

	// A user sees the sync complete: every profile in Iterable with its last
	// value, the pod ready.
	start := time.Now()
	waitProfiles(t, simURL, "last")
	t.Logf("%d events synced to %d profiles in %s", 4*imageUsers, imageUsers, time.Since(start).Round(time.Millisecond))
	waitFor(t, 30*time.Second, "/readyz to answer 200", func() bool {
		resp, err := http.Get("http://" + telemetry + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})

	// SIGTERM while Iterable is slow (2 s a request): the drain lets the
	// request in flight finish within the grace, commits, exits 0.
	setLatency(t, simURL, 2*time.Second)
	produceUsers(t, brokers, topic, "drain", 1)
	time.Sleep(time.Second) // fetched, and a request out
	stop(first)
	setLatency(t, simURL, 0)

	// Started again, the sync finishes what the drain left uncommitted:
	// nothing was lost, and the group ends with no lag.
	second := first + "-again"
	run(second)
	waitProfiles(t, simURL, "drain")
	stop(second)
	if l := lag(t, brokers, "attrsync-"+name, topic); l != 0 {
		t.Errorf("after the drain the group's lag is %d, want 0", l)
	}
	var stats simStats
	if err := getJSON(simURL+"/_sim/stats", &stats); err != nil {
		t.Fatal(err)
	}
	if stats.UsersFailed != 0 || stats.TooManyRequests != 0 {
		t.Errorf("simulator: %d failed users, %d answers 429; want none", stats.UsersFailed, stats.TooManyRequests)
	}
}

// setLatency makes the simulator answer every API request that much later.
func setLatency(t *testing.T, simURL string, d time.Duration) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"latency": d})
	resp, err := http.Post(simURL+"/_sim/faults", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		t.Fatalf("POST /_sim/faults: %s", resp.Status)
	}
}
