package deploy

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"sigs.k8s.io/yaml"

	"github.com/camstream/camstream/test/harness"
)

// The alerts the monitoring component must have; each needs a runbook
// section in the README under its own name.
var wantAlerts = []string{
	"CamstreamCameraNotStreaming",
	"CamstreamCameraFlapping",
	"CamstreamEncodeNearFrameInterval",
	"CamstreamEdgeCaptureUnreachable",
	"CamstreamEdgeViewersNearLimit",
	"CamstreamLatencyHigh",
}

// monitoring is the production overlay's monitoring objects.
type monitoring struct {
	m         *manifests
	podMons   []*monitoringv1.PodMonitor
	rules     *monitoringv1.PrometheusRule
	dashboard dashboard
}

func renderMonitoring(t *testing.T) monitoring {
	t.Helper()
	m := render(t, "overlays/production")
	if len(m.PodMonitors) != 2 || len(m.PrometheusRules) != 1 {
		t.Fatalf("%s: got %d PodMonitors and %d PrometheusRules, want 2 (capture, edge) and 1", m.Dir, len(m.PodMonitors), len(m.PrometheusRules))
	}
	var dash []string
	for _, cm := range m.ConfigMaps {
		if cm.Labels["grafana_dashboard"] == "1" {
			for _, data := range cm.Data {
				dash = append(dash, data)
			}
		}
	}
	if len(dash) != 1 {
		t.Fatalf("%s: got %d ConfigMap entries labelled grafana_dashboard=\"1\", want the one dashboard", m.Dir, len(dash))
	}
	var d dashboard
	if err := json.Unmarshal([]byte(dash[0]), &d); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	return monitoring{m: m, podMons: m.PodMonitors, rules: m.PrometheusRules[0], dashboard: d}
}

// Each PodMonitor selects the pods of exactly one workload in its own
// namespace, at a named container port and path that are the ones the
// pods' prometheus.io annotations give (which the dev overlay test scrapes
// for real).
func TestPodMonitorsSelectThePodsAndPorts(t *testing.T) {
	mon := renderMonitoring(t)
	var scraped []string
	for _, pm := range mon.podMons {
		ws := mon.m.PodsSelectedBy(t, pm.Namespace, &pm.Spec.Selector)
		if len(ws) != 1 {
			t.Errorf("PodMonitor %s: selects %v, want the pods of one workload", pm.Name, ids(ws))
			continue
		}
		w := ws[0]
		scraped = append(scraped, w.Name)
		a := w.Template.Annotations
		if len(pm.Spec.PodMetricsEndpoints) != 1 {
			t.Errorf("PodMonitor %s: %d endpoints, want 1", pm.Name, len(pm.Spec.PodMetricsEndpoints))
			continue
		}
		ep := pm.Spec.PodMetricsEndpoints[0]
		if ep.Port == nil {
			t.Errorf("PodMonitor %s: the endpoint names no port", pm.Name)
			continue
		}
		var found bool
		for i := range w.Template.Spec.Containers {
			if p, ok := containerPort(&w.Template.Spec.Containers[i], *ep.Port, 0); ok {
				found = true
				if strconv.Itoa(int(p.ContainerPort)) != a["prometheus.io/port"] {
					t.Errorf("PodMonitor %s: port %s is %d, the pods' prometheus.io/port is %s", pm.Name, *ep.Port, p.ContainerPort, a["prometheus.io/port"])
				}
			}
		}
		if !found {
			t.Errorf("PodMonitor %s: no container of %s has a port named %q", pm.Name, w.ID(), *ep.Port)
		}
		if ep.Path != a["prometheus.io/path"] {
			t.Errorf("PodMonitor %s: path %q, the pods' prometheus.io/path is %q", pm.Name, ep.Path, a["prometheus.io/path"])
		}
	}
	slices.Sort(scraped)
	if want := []string{"capture", "edge"}; !slices.Equal(scraped, want) {
		t.Errorf("PodMonitors scrape %v, want %v", scraped, want)
	}
}

// promtool checks the rules and runs alerts_test.yaml, which has each
// alert once firing and once not. Every alert has a summary, a runbook
// link and a runbook in the README.
func TestAlertRulesWithPromtool(t *testing.T) {
	promtool := harness.RequireTool(t, "promtool")
	mon := renderMonitoring(t)
	dir := t.TempDir()
	writeRules(t, mon.rules, filepath.Join(dir, "rules.yaml"))
	copyFile(t, "components/monitoring/alerts_test.yaml", filepath.Join(dir, "alerts_test.yaml"))
	for _, args := range [][]string{{"check", "rules", "rules.yaml"}, {"test", "rules", "alerts_test.yaml"}} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}

	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]monitoringv1.Rule{}
	for _, g := range mon.rules.Spec.Groups {
		for _, r := range g.Rules {
			got[r.Alert] = r
		}
	}
	tests := alertTests(t)
	for _, name := range wantAlerts {
		r, ok := got[name]
		if !ok {
			t.Errorf("PrometheusRule: no alert %s", name)
			continue
		}
		if r.Annotations["summary"] == "" || !strings.HasSuffix(r.Annotations["runbook_url"], "#"+strings.ToLower(name)) {
			t.Errorf("alert %s: annotations %v, want a summary and a runbook_url to #%s", name, r.Annotations, strings.ToLower(name))
		}
		if !strings.Contains(string(readme), "#### "+name+"\n") {
			t.Errorf("README: no runbook heading \"#### %s\"", name)
		}
		if tests[name] != [2]bool{true, true} {
			t.Errorf("alerts_test.yaml: alert %s tested [firing, not firing] = %v, want both", name, tests[name])
		}
	}
}

// writeRules writes a PrometheusRule's groups as a Prometheus rule file.
func writeRules(t *testing.T, pr *monitoringv1.PrometheusRule, path string) {
	t.Helper()
	data, err := yaml.Marshal(map[string]any{"groups": pr.Spec.Groups})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// alertTests reads which alerts alerts_test.yaml expects to fire
// ([0]) and expects not to fire ([1]).
func alertTests(t *testing.T) map[string][2]bool {
	t.Helper()
	data, err := os.ReadFile("components/monitoring/alerts_test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Tests []struct {
			AlertRuleTest []struct {
				Alertname string            `json:"alertname"`
				ExpAlerts []json.RawMessage `json:"exp_alerts"`
			} `json:"alert_rule_test"`
		} `json:"tests"`
	}
	if err := yaml.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	seen := map[string][2]bool{}
	for _, tc := range f.Tests {
		for _, a := range tc.AlertRuleTest {
			s := seen[a.Alertname]
			if len(a.ExpAlerts) > 0 {
				s[0] = true
			} else {
				s[1] = true
			}
			seen[a.Alertname] = s
		}
	}
	return seen
}

// dashboard is the part of a Grafana dashboard these tests read.
type dashboard struct {
	Title      string `json:"title"`
	Templating struct {
		List []struct {
			Name       string `json:"name"`
			Type       string `json:"type"`
			Definition string `json:"definition"`
		} `json:"list"`
	} `json:"templating"`
	Panels []struct {
		Title      string `json:"title"`
		Datasource struct {
			UID string `json:"uid"`
		} `json:"datasource"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
}

// queries returns every PromQL expression of the dashboard, with Grafana's
// variables replaced by what Grafana would put there: $camera by "All"
// (.*), the rate interval by 1m. label_values(M, l) becomes M.
func (d dashboard) queries(t *testing.T) map[string]string {
	t.Helper()
	q := map[string]string{}
	grafana := strings.NewReplacer("$__rate_interval", "1m", "$__interval", "15s", "$camera", ".*")
	labelValues := regexp.MustCompile(`^label_values\((.+),\s*\w+\)$`)
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		m := labelValues.FindStringSubmatch(v.Definition)
		if m == nil {
			t.Errorf("dashboard variable %s: %q is not label_values(metric, label)", v.Name, v.Definition)
			continue
		}
		q["variable "+v.Name] = m[1]
	}
	for _, p := range d.Panels {
		if p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q: datasource %q, want the dashboard's ${datasource} variable", p.Title, p.Datasource.UID)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q: no queries", p.Title)
		}
		for i, tg := range p.Targets {
			q["panel "+p.Title+" #"+strconv.Itoa(i)] = grafana.Replace(tg.Expr)
		}
	}
	return q
}

// comparison is a PromQL comparison operator between two operands.
var comparison = regexp.MustCompile(`\s(==|!=|>=|<=|>|<)\s`)

// measured turns an alert expression into one that returns its measured
// series whatever their values: every comparison gets PromQL's bool
// modifier, so a series that does not fire now (value 0) is still
// returned. An alert without a comparison is an error.
func measured(expr string) (string, bool) {
	out := comparison.ReplaceAllString(expr, " $1 bool ")
	return out, out != expr
}
