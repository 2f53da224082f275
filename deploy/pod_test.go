package deploy

import (
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/camstream/camstream/test/harness"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// What the kubelet would do with a container's spec, without a kubelet:
// resolve its environment, find the Services it names, read the files its
// volumes hold.

func metaSelector(m map[string]string) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: m}
}

type envPair struct{ Name, Value string }

// resolveEnv resolves a container's env as the kubelet does, in order:
// literal values with $(VAR) references to earlier variables expanded,
// the downward API for the pod podName, and Secrets from secrets (name →
// key → value; nil puts "secret:NAME/KEY" in their place). An optional
// Secret key that is missing leaves the variable out.
func resolveEnvList(m *manifests, w workload, c *corev1.Container, podName string, secrets map[string]map[string]string) ([]envPair, error) {
	vals := make(map[string]string)
	var out []envPair
	for _, e := range c.Env {
		v := expandRefs(e.Value, vals)
		if src := e.ValueFrom; src != nil {
			switch {
			case src.FieldRef != nil:
				switch src.FieldRef.FieldPath {
				case "metadata.name":
					v = podName
				case "metadata.namespace":
					v = w.Namespace
				case "status.podIP", "status.hostIP":
					v = "127.0.0.1"
				default:
					return nil, fmt.Errorf("%s env %s: fieldRef %s: not emulated here", w.ID(), e.Name, src.FieldRef.FieldPath)
				}
			case src.SecretKeyRef != nil:
				ref := src.SecretKeyRef
				if secrets == nil {
					v = "secret:" + ref.Name + "/" + ref.Key
					break
				}
				s, ok := secrets[ref.Name][ref.Key]
				if !ok {
					if ref.Optional != nil && *ref.Optional {
						continue
					}
					return nil, fmt.Errorf("%s env %s: Secret %s key %s: not in the example", w.ID(), e.Name, ref.Name, ref.Key)
				}
				v = s
			case src.ConfigMapKeyRef != nil:
				ref := src.ConfigMapKeyRef
				cm := m.ConfigMap(ref.Name)
				if cm == nil {
					return nil, fmt.Errorf("%s env %s: ConfigMap %s: not rendered", w.ID(), e.Name, ref.Name)
				}
				v = cm.Data[ref.Key]
			default:
				return nil, fmt.Errorf("%s env %s: valueFrom %+v: not emulated here", w.ID(), e.Name, src)
			}
		}
		vals[e.Name] = v
		out = append(out, envPair{e.Name, v})
	}
	return out, nil
}

// resolveEnv is resolveEnvList as a map.
func resolveEnv(m *manifests, w workload, c *corev1.Container, podName string, secrets map[string]map[string]string) (map[string]string, error) {
	list, err := resolveEnvList(m, w, c, podName, secrets)
	if err != nil {
		return nil, err
	}
	env := make(map[string]string, len(list))
	for _, p := range list {
		env[p.Name] = p.Value
	}
	return env, nil
}

// expandRefs expands $(VAR) the way Kubernetes does in env values, command
// and args: only variables defined before; an unknown reference stays as
// written; $$ is a literal $.
func expandRefs(s string, vals map[string]string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+end]
			if v, ok := vals[name]; ok {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+end+1])
			}
			i += end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

var refPattern = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// varRefs returns the $(VAR) names s references.
func varRefs(s string) []string {
	var names []string
	for _, m := range refPattern.FindAllStringSubmatch(strings.ReplaceAll(s, "$$", ""), -1) {
		names = append(names, m[1])
	}
	return names
}

// lookupService finds the Service a "host:port" address names the way
// cluster DNS would from a pod in namespace ns: svc, svc.ns, svc.ns.svc or
// svc.ns.svc.cluster.local.
func lookupService(m *manifests, ns, hostport string) (*corev1.Service, corev1.ServicePort, bool) {
	host, portStr, ok := strings.Cut(hostport, ":")
	port, err := strconv.Atoi(portStr)
	if !ok || err != nil {
		return nil, corev1.ServicePort{}, false
	}
	host = strings.TrimSuffix(host, ".")
	for _, s := range m.Services {
		forms := []string{s.Name, s.Name + "." + s.Namespace, s.Name + "." + s.Namespace + ".svc", s.Name + "." + s.Namespace + ".svc.cluster.local"}
		if s.Namespace != ns {
			forms = forms[1:] // a bare name finds only the pod's own namespace
		}
		if !slices.Contains(forms, host) {
			continue
		}
		for _, p := range s.Spec.Ports {
			if int(p.Port) == port {
				return s, p, true
			}
		}
	}
	return nil, corev1.ServicePort{}, false
}

// cameraFile is capture's camera file as mounted from a ConfigMap.
type cameraFile struct {
	Path    string // inside the container
	Data    string
	Cameras []cameraEntry `json:"cameras"`
}

type cameraEntry struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Source string `json:"source"`
}

var varPattern = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// Vars returns the ${VAR} names capture expands in this camera's fields.
func (c cameraEntry) Vars() []string {
	var names []string
	for _, m := range varPattern.FindAllStringSubmatch(c.Name+" "+c.Source, -1) {
		names = append(names, m[1])
	}
	return names
}

// cameraFileOf returns the camera file capture reads: CAPTURE_CONFIG must
// name a file a ConfigMap volume mounts.
func cameraFileOf(t testing.TB, m *manifests, w workload, c *corev1.Container) cameraFile {
	t.Helper()
	env, err := resolveEnv(m, w, c, w.Name+"-0", nil)
	if err != nil {
		t.Fatal(err)
	}
	path := env["CAPTURE_CONFIG"]
	if path == "" {
		t.Fatalf("%s: CAPTURE_CONFIG is not set", w.ID())
	}
	data, ok := mountedFile(m, w, c, path)
	if !ok {
		t.Fatalf("%s: CAPTURE_CONFIG %s: no ConfigMap volume puts a file there", w.ID(), path)
	}
	cf := cameraFile{Path: path, Data: data}
	if err := yaml.Unmarshal([]byte(data), &cf); err != nil {
		t.Fatalf("camera file %s: %v", path, err)
	}
	return cf
}

// mountedFile returns the content a ConfigMap volume puts at path.
func mountedFile(m *manifests, w workload, c *corev1.Container, path string) (string, bool) {
	for _, vm := range c.VolumeMounts {
		v := volume(&w.Template.Spec, vm.Name)
		if v == nil || v.ConfigMap == nil {
			continue
		}
		cm := m.ConfigMap(v.ConfigMap.Name)
		if cm == nil {
			continue
		}
		for key, rel := range configMapFiles(v.ConfigMap, cm) {
			if vm.MountPath+"/"+rel == path || (vm.SubPath == key && vm.MountPath == path) {
				return cm.Data[key], true
			}
		}
	}
	return "", false
}

// configMapFiles returns key → file name of a ConfigMap volume.
func configMapFiles(src *corev1.ConfigMapVolumeSource, cm *corev1.ConfigMap) map[string]string {
	files := make(map[string]string)
	if len(src.Items) == 0 {
		for k := range cm.Data {
			files[k] = k
		}
		return files
	}
	for _, it := range src.Items {
		files[it.Key] = it.Path
	}
	return files
}

// redactedSource hides the user and password of a camera URL.
func redactedSource(s string) string {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return s
	}
	if _, host, ok := strings.Cut(rest, "@"); ok {
		return scheme + "://***@" + host
	}
	return s
}

var (
	// kong's help: a flag's line starts with two spaces ("-h, " or four
	// more spaces) and "--name", its environment variable is "($NAME)".
	helpEnvPattern  = regexp.MustCompile(`\(\$([A-Z][A-Z0-9_]*)\)`)
	helpFlagPattern = regexp.MustCompile(`(?m)^  (?:-\w, |    )--([a-z][a-z0-9-]*)`)
)

// binaryHelp is what `bin/NAME --help` says a binary reads.
type binaryHelp struct {
	Env   map[string]bool // from the ($ENV_NAME) in each flag's help
	Flags map[string]bool
}

// readHelp runs `bin/NAME --help`.
func readHelp(t testing.TB, name string) binaryHelp {
	t.Helper()
	bin := harness.Bin(t, name)
	out, err := exec.Command(bin, "--help").CombinedOutput()
	if err != nil {
		if _, exit := err.(*exec.ExitError); !exit {
			t.Fatalf("%s --help: %v", name, err)
		}
	}
	h := binaryHelp{Env: make(map[string]bool), Flags: make(map[string]bool)}
	for _, m := range helpEnvPattern.FindAllStringSubmatch(string(out), -1) {
		h.Env[m[1]] = true
	}
	for _, m := range helpFlagPattern.FindAllStringSubmatch(string(out), -1) {
		h.Flags[m[1]] = true
	}
	if len(h.Env) == 0 || len(h.Flags) == 0 {
		t.Fatalf("%s --help names no flags with ($ENV) variables:\n%s", name, out)
	}
	return h
}
