package deploy

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// manifests is one rendered kustomization, every object decoded strictly
// into its k8s.io/api type.
type manifests struct {
	Dir             string // relative to deploy/, e.g. "overlays/dev"
	Namespaces      []*corev1.Namespace
	ConfigMaps      []*corev1.ConfigMap
	Services        []*corev1.Service
	Deployments     []*appsv1.Deployment
	StatefulSets    []*appsv1.StatefulSet
	HPAs            []*autoscalingv2.HorizontalPodAutoscaler
	PDBs            []*policyv1.PodDisruptionBudget
	NetworkPolicies []*networkingv1.NetworkPolicy
	Ingresses       []*networkingv1.Ingress
	PodMonitors     []*monitoringv1.PodMonitor
	PrometheusRules []*monitoringv1.PrometheusRule
	// Objects is every object in render order, as its typed pointer.
	Objects []metav1.Object
}

// workload is what Deployments and StatefulSets have in common.
type workload struct {
	Kind      string
	Name      string
	Namespace string
	Replicas  int32
	Selector  *metav1.LabelSelector
	Template  *corev1.PodTemplateSpec
}

// ID is "Kind/name" for messages.
func (w workload) ID() string { return w.Kind + "/" + w.Name }

// kustomizations returns every directory under deploy/ that holds a
// kustomization.yaml, relative to deploy/, so a new overlay is tested
// without being listed anywhere. Components (kind: Component) are not
// built alone: they are tested in the overlays that use them.
func kustomizations(t testing.TB) []string {
	t.Helper()
	var dirs []string
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && d.Name() == "kustomization.yaml" && !isComponent(path) {
			dirs = append(dirs, filepath.Dir(path))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("find kustomizations: %v", err)
	}
	for _, want := range []string{"base", "overlays/dev", "overlays/production"} {
		if !slices.Contains(dirs, want) {
			t.Errorf("kustomizations: got %v, want one in %s", dirs, want)
		}
	}
	sort.Strings(dirs)
	return dirs
}

// isComponent reports whether a kustomization.yaml is a Component.
func isComponent(path string) bool {
	data, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	var k struct{ Kind string }
	return yaml.Unmarshal(data, &k) == nil && k.Kind == "Component"
}

// renderAll renders every kustomization.
func renderAll(t testing.TB) []*manifests {
	t.Helper()
	var all []*manifests
	for _, dir := range kustomizations(t) {
		all = append(all, render(t, dir))
	}
	return all
}

// render builds the kustomization in dir (relative to deploy/) in-process,
// like `kubectl apply -k` would, and decodes every object strictly.
func render(t testing.TB, dir string) *manifests {
	t.Helper()
	m, err := renderFS(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("render %s: %v", dir, err)
	}
	return m
}

func renderFS(fsys filesys.FileSystem, dir string) (*manifests, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	res, err := k.Run(fsys, dir)
	if err != nil {
		return nil, err
	}
	m := &manifests{Dir: dir}
	for _, r := range res.Resources() {
		data, err := r.AsYAML()
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", r.GetKind(), r.GetName(), err)
		}
		obj, err := decodeStrict(r.GetApiVersion(), r.GetKind(), data)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", r.GetKind(), r.GetName(), err)
		}
		m.add(obj)
	}
	return m, nil
}

// decodeStrict decodes one object into the k8s.io/api type of its kind:
// an unknown or duplicated field, or an apiVersion other than the one the
// type belongs to, is an error.
func decodeStrict(apiVersion, kind string, data []byte) (metav1.Object, error) {
	kinds := map[string]struct {
		apiVersion string
		new        func() metav1.Object
	}{
		"Namespace":               {"v1", func() metav1.Object { return &corev1.Namespace{} }},
		"ConfigMap":               {"v1", func() metav1.Object { return &corev1.ConfigMap{} }},
		"Service":                 {"v1", func() metav1.Object { return &corev1.Service{} }},
		"Deployment":              {"apps/v1", func() metav1.Object { return &appsv1.Deployment{} }},
		"StatefulSet":             {"apps/v1", func() metav1.Object { return &appsv1.StatefulSet{} }},
		"HorizontalPodAutoscaler": {"autoscaling/v2", func() metav1.Object { return &autoscalingv2.HorizontalPodAutoscaler{} }},
		"PodDisruptionBudget":     {"policy/v1", func() metav1.Object { return &policyv1.PodDisruptionBudget{} }},
		"NetworkPolicy":           {"networking.k8s.io/v1", func() metav1.Object { return &networkingv1.NetworkPolicy{} }},
		"Ingress":                 {"networking.k8s.io/v1", func() metav1.Object { return &networkingv1.Ingress{} }},
		"PodMonitor":              {"monitoring.coreos.com/v1", func() metav1.Object { return &monitoringv1.PodMonitor{} }},
		"PrometheusRule":          {"monitoring.coreos.com/v1", func() metav1.Object { return &monitoringv1.PrometheusRule{} }},
	}
	k, ok := kinds[kind]
	if !ok {
		return nil, fmt.Errorf("kind %s: not one these tests know; add its type to decodeStrict", kind)
	}
	if apiVersion != k.apiVersion {
		return nil, fmt.Errorf("apiVersion: got %q, want %q", apiVersion, k.apiVersion)
	}
	obj := k.new()
	if err := yaml.UnmarshalStrict(data, obj); err != nil {
		return nil, fmt.Errorf("strict decode: %w", err)
	}
	return obj, nil
}

func (m *manifests) add(obj metav1.Object) {
	m.Objects = append(m.Objects, obj)
	switch o := obj.(type) {
	case *corev1.Namespace:
		m.Namespaces = append(m.Namespaces, o)
	case *corev1.ConfigMap:
		m.ConfigMaps = append(m.ConfigMaps, o)
	case *corev1.Service:
		m.Services = append(m.Services, o)
	case *appsv1.Deployment:
		m.Deployments = append(m.Deployments, o)
	case *appsv1.StatefulSet:
		m.StatefulSets = append(m.StatefulSets, o)
	case *autoscalingv2.HorizontalPodAutoscaler:
		m.HPAs = append(m.HPAs, o)
	case *policyv1.PodDisruptionBudget:
		m.PDBs = append(m.PDBs, o)
	case *networkingv1.NetworkPolicy:
		m.NetworkPolicies = append(m.NetworkPolicies, o)
	case *networkingv1.Ingress:
		m.Ingresses = append(m.Ingresses, o)
	case *monitoringv1.PodMonitor:
		m.PodMonitors = append(m.PodMonitors, o)
	case *monitoringv1.PrometheusRule:
		m.PrometheusRules = append(m.PrometheusRules, o)
	}
}

// Workloads returns the Deployments and StatefulSets.
func (m *manifests) Workloads() []workload {
	var ws []workload
	for _, d := range m.Deployments {
		ws = append(ws, workload{"Deployment", d.Name, d.Namespace, replicas(d.Spec.Replicas), d.Spec.Selector, &d.Spec.Template})
	}
	for _, s := range m.StatefulSets {
		ws = append(ws, workload{"StatefulSet", s.Name, s.Namespace, replicas(s.Spec.Replicas), s.Spec.Selector, &s.Spec.Template})
	}
	return ws
}

// Workload returns the workload with that name, failing the test when there
// is none.
func (m *manifests) Workload(t testing.TB, name string) workload {
	t.Helper()
	for _, w := range m.Workloads() {
		if w.Name == name {
			return w
		}
	}
	t.Fatalf("%s: no Deployment or StatefulSet %q", m.Dir, name)
	return workload{}
}

// Container returns the container with that name of a workload.
func (w workload) Container(t testing.TB, name string) *corev1.Container {
	t.Helper()
	for i := range w.Template.Spec.Containers {
		if c := &w.Template.Spec.Containers[i]; c.Name == name {
			return c
		}
	}
	t.Fatalf("%s: no container %q", w.ID(), name)
	return nil
}

// Service returns the Service with that name, or nil.
func (m *manifests) Service(name string) *corev1.Service {
	for _, s := range m.Services {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// ConfigMap returns the ConfigMap with that (rendered) name, or nil.
func (m *manifests) ConfigMap(name string) *corev1.ConfigMap {
	for _, c := range m.ConfigMaps {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// PodsSelectedBy returns the workloads in namespace ns whose pods sel
// selects.
func (m *manifests) PodsSelectedBy(t testing.TB, ns string, sel *metav1.LabelSelector) []workload {
	t.Helper()
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		t.Fatalf("selector %v: %v", sel, err)
	}
	var ws []workload
	for _, w := range m.Workloads() {
		if w.Namespace == ns && !s.Empty() && s.Matches(labels.Set(w.Template.Labels)) {
			ws = append(ws, w)
		}
	}
	return ws
}

func replicas(p *int32) int32 {
	if p == nil {
		return 1 // the API default
	}
	return *p
}

// containerPort finds the container port a Service targetPort, probe port
// or NetworkPolicy port names: by name when it is a name, else by number.
func containerPort(c *corev1.Container, name string, number int32) (corev1.ContainerPort, bool) {
	for _, p := range c.Ports {
		if (name != "" && p.Name == name) || (name == "" && p.ContainerPort == number) {
			return p, true
		}
	}
	return corev1.ContainerPort{}, false
}

// readEnvFile reads a KEY=value file like `kubectl create secret
// --from-env-file` does: blank lines and lines starting with # are skipped.
func readEnvFile(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	vals := make(map[string]string)
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%s:%d: want KEY=value, got %q", path, i+1, line)
		}
		vals[k] = v
	}
	return vals, nil
}

// exampleSecrets reads the Secret examples shipped beside a kustomization:
// <secret name>.env.example, as name → key → value.
func exampleSecrets(t testing.TB, dir string) map[string]map[string]string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.env.example"))
	if err != nil {
		t.Fatal(err)
	}
	secrets := make(map[string]map[string]string)
	for _, p := range paths {
		vals, err := readEnvFile(p)
		if err != nil {
			t.Fatalf("secret example: %v", err)
		}
		secrets[strings.TrimSuffix(filepath.Base(p), ".env.example")] = vals
	}
	return secrets
}
