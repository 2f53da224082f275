package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"sigs.k8s.io/yaml"

	"github.com/camstream/camstream/test/harness"
)

// A real Prometheus on loopback scrapes the production overlay's capture
// pods and an edge pod, run with the real binaries, at the addresses their
// scrape annotations give, with the labels the PodMonitors give them
// (namespace, pod, container). Every expression of the dashboard and of
// the alerts must parse and return data, and Prometheus itself must
// evaluate the rule file without errors.
func TestMonitoringQueriesAgainstPrometheus(t *testing.T) {
	promBin := harness.RequireTool(t, "prometheus")
	mon := renderMonitoring(t)
	m := mon.m
	secrets := exampleSecrets(t, m.Dir)
	capture, edge := m.Workload(t, "capture"), m.Workload(t, "edge")
	cf := cameraFileOf(t, m, capture, capture.Container(t, "capture"))

	var pods []*localPod
	for i := range int(capture.Replicas) {
		p := startPod(t, m, capture, "capture", podOptions{
			PodName: capture.Name + "-" + strconv.Itoa(i), Secrets: secrets, File: testPatterns(cf),
		})
		pods = append(pods, p)
	}
	for _, p := range pods {
		p.WaitReady(t, time.Minute)
	}
	edgePod := startPod(t, m, edge, "edge", podOptions{PodName: "edge-5d8f6c9b7-q2w4e", Secrets: secrets, Backends: pods})
	edgePod.WaitReady(t, time.Minute)
	pods = append(pods, edgePod)

	// Viewers, so that the edge's per-camera series exist.
	edgeEnv, err := resolveEnv(m, edge, edgePod.C, edgePod.Name, secrets)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, cam := range cf.Cameras {
		resp, err := openStream(ctx, edgePod.portURL(t, "http", "/cameras/"+cam.ID+"/stream.mjpeg"), edgeEnv["EDGE_AUTH_TOKEN"])
		if err != nil {
			t.Fatalf("viewer of %s: %v", cam.ID, err)
		}
		go func() {
			defer resp.Body.Close()
			_, _ = io.Copy(io.Discard, resp.Body)
		}()
	}

	prom := startPrometheus(t, promBin, pods, mon)
	harness.WaitFor(t, 30*time.Second, "Prometheus scrapes every pod", func() bool {
		res, err := prom.query("up == 1")
		return err == nil && len(res) == len(pods)
	})

	queries := mon.dashboard.queries(t)
	for _, g := range mon.rules.Spec.Groups {
		for _, r := range g.Rules {
			expr, ok := measured(r.Expr.String())
			if !ok {
				t.Errorf("alert %s: %q compares nothing with a threshold", r.Alert, r.Expr.String())
			}
			queries["alert "+r.Alert] = expr
		}
	}
	for name, q := range queries {
		var res []sample
		var err error
		ok := waitUntil(30*time.Second, func() bool {
			res, err = prom.query(q)
			return err == nil && finite(res)
		})
		if !ok {
			t.Errorf("%s: %s: got %d series (%v), want data", name, q, len(res), err)
		}
	}

	// Prometheus loads the rules itself and evaluates each without error.
	harness.WaitFor(t, 30*time.Second, "Prometheus evaluates every rule", func() bool {
		rules, err := prom.rules()
		if err != nil || len(rules) != len(wantAlerts) {
			return false
		}
		for _, r := range rules {
			if r.Health != "ok" {
				t.Logf("rule %s: health %q: %s", r.Name, r.Health, r.LastError)
				return false
			}
		}
		return true
	})
}

// testPatterns rewrites the camera file: the same camera ids, each a small
// built-in test pattern, so every camera streams on this machine.
func testPatterns(cf cameraFile) func(key, data string) string {
	return func(_, _ string) string {
		var b strings.Builder
		b.WriteString("cameras:\n")
		for _, cam := range cf.Cameras {
			fmt.Fprintf(&b, "  - id: %s\n    source: test://smpte\n    width: 320\n    fps: 10\n", cam.ID)
		}
		return b.String()
	}
}

type prometheus struct {
	base string
}

type sample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

type ruleState struct {
	Name      string `json:"name"`
	Health    string `json:"health"`
	LastError string `json:"lastError"`
}

// startPrometheus runs Prometheus on loopback with a 1 s scrape interval,
// a static target per pod at its prometheus.io annotations, labelled as
// the PodMonitor that selects the pod labels it, and the alert rules.
func startPrometheus(t *testing.T, bin string, pods []*localPod, mon monitoring) *prometheus {
	t.Helper()
	dir := t.TempDir()
	writeRules(t, mon.rules, filepath.Join(dir, "rules.yaml"))
	var jobs []map[string]any
	for _, p := range pods {
		a := p.W.Template.Annotations
		u, err := url.Parse(p.portURL(t, a["prometheus.io/port"], a["prometheus.io/path"]))
		if err != nil {
			t.Fatal(err)
		}
		pm := podMonitorOf(t, mon, p)
		jobs = append(jobs, map[string]any{
			"job_name":     pm.Namespace + "/" + pm.Name + "/" + p.Name,
			"metrics_path": u.Path,
			"static_configs": []map[string]any{{
				"targets": []string{u.Host},
				"labels":  map[string]string{"namespace": p.W.Namespace, "pod": p.Name, "container": p.C.Name, "job": pm.Namespace + "/" + pm.Name},
			}},
		})
	}
	cfg, err := yaml.Marshal(map[string]any{
		"global":         map[string]string{"scrape_interval": "1s", "evaluation_interval": "1s"},
		"rule_files":     []string{filepath.Join(dir, "rules.yaml")},
		"scrape_configs": jobs,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(harness.FreePort(t))
	harness.Start(t, bin, []string{
		"--config.file=" + filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path=" + filepath.Join(dir, "data"),
		"--web.listen-address=" + addr,
	})
	harness.WaitHTTP(t, "http://"+addr+"/-/ready", 30*time.Second)
	return &prometheus{base: "http://" + addr}
}

// podMonitorOf returns the PodMonitor that selects the pod.
func podMonitorOf(t *testing.T, mon monitoring, p *localPod) *monitoringv1.PodMonitor {
	t.Helper()
	for _, pm := range mon.podMons {
		for _, w := range mon.m.PodsSelectedBy(t, pm.Namespace, &pm.Spec.Selector) {
			if w.ID() == p.W.ID() {
				return pm
			}
		}
	}
	t.Fatalf("no PodMonitor selects %s", p.W.ID())
	return nil
}

func (p *prometheus) get(path string, params url.Values, data any) error {
	resp, err := http.Get(p.base + path + "?" + params.Encode())
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var body struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return fmt.Errorf("%s: status %d: %w", path, resp.StatusCode, err)
	}
	if body.Status != "success" {
		return fmt.Errorf("%s: %s", path, body.Error)
	}
	return json.Unmarshal(body.Data, data)
}

// query evaluates an instant query; a scalar result is one sample.
func (p *prometheus) query(q string) ([]sample, error) {
	var data struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	}
	if err := p.get("/api/v1/query", url.Values{"query": {q}}, &data); err != nil {
		return nil, err
	}
	if data.ResultType == "scalar" {
		var v [2]any
		err := json.Unmarshal(data.Result, &v)
		return []sample{{Value: v}}, err
	}
	var res []sample
	err := json.Unmarshal(data.Result, &res)
	return res, err
}

func (p *prometheus) rules() ([]ruleState, error) {
	var data struct {
		Groups []struct {
			Rules []ruleState `json:"rules"`
		} `json:"groups"`
	}
	if err := p.get("/api/v1/rules", nil, &data); err != nil {
		return nil, err
	}
	var all []ruleState
	for _, g := range data.Groups {
		all = append(all, g.Rules...)
	}
	return all, nil
}

// finite reports whether some sample has a number for a value (not NaN:
// a quantile of no observations).
func finite(res []sample) bool {
	for _, s := range res {
		v, ok := s.Value[1].(string)
		if !ok {
			continue
		}
		f, err := strconv.ParseFloat(v, 64)
		if err == nil && !math.IsNaN(f) {
			return true
		}
	}
	return false
}

func waitUntil(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(500 * time.Millisecond)
	}
}
