package deploy

import (
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// production serves the edge through one HTTPS Ingress for ingress-nginx:
// TLS from a Secret for every host, a backend Service and port that are
// rendered beside it (the port the edge's container serves), annotations
// that keep an MJPEG stream flowing, and a path that is the edge's own
// base path.
func TestProductionIngress(t *testing.T) {
	m := render(t, "overlays/production")
	if len(m.Ingresses) != 1 {
		t.Fatalf("%d Ingresses, want 1", len(m.Ingresses))
	}
	ing := m.Ingresses[0]
	if ing.Spec.IngressClassName == nil || *ing.Spec.IngressClassName != "nginx" {
		t.Errorf("ingressClassName = %v, want nginx (the annotations are ingress-nginx's)", ing.Spec.IngressClassName)
	}
	checkStreamingAnnotations(t, ing.Annotations)

	tlsHosts := make(map[string]bool)
	for _, tls := range ing.Spec.TLS {
		if tls.SecretName == "" {
			t.Errorf("TLS for %v: no secretName", tls.Hosts)
		}
		for _, h := range tls.Hosts {
			tlsHosts[h] = true
		}
	}
	edge := m.Workload(t, "edge")
	basePath := envValue(edge.Container(t, "edge").Env, "EDGE_BASE_PATH")
	if len(ing.Spec.Rules) == 0 {
		t.Fatal("no rules")
	}
	for _, rule := range ing.Spec.Rules {
		if rule.Host == "" || !tlsHosts[rule.Host] {
			t.Errorf("rule for host %q: not covered by the Ingress's TLS %v", rule.Host, tlsHosts)
		}
		if rule.HTTP == nil || len(rule.HTTP.Paths) == 0 {
			t.Errorf("rule for host %q: no paths", rule.Host)
			continue
		}
		for _, p := range rule.HTTP.Paths {
			if p.PathType == nil || *p.PathType != networkingv1.PathTypePrefix || p.Path != basePath {
				t.Errorf("path %q (type %s): want Prefix %q, the edge's EDGE_BASE_PATH", p.Path, pathType(p.PathType), basePath)
			}
			checkBackend(t, m, ing.Namespace, p.Backend)
		}
	}
}

// checkBackend: the Service exists in the Ingress's namespace, has the
// port (by name or number), and that port leads to the edge's container.
func checkBackend(t *testing.T, m *manifests, ns string, b networkingv1.IngressBackend) {
	t.Helper()
	if b.Service == nil {
		t.Errorf("backend %+v: want a Service", b)
		return
	}
	svc := m.Service(b.Service.Name)
	if svc == nil || svc.Namespace != ns {
		t.Errorf("backend Service %q: not rendered in namespace %q", b.Service.Name, ns)
		return
	}
	for _, sp := range svc.Spec.Ports {
		if (b.Service.Port.Name != "" && sp.Name == b.Service.Port.Name) || (b.Service.Port.Number != 0 && sp.Port == b.Service.Port.Number) {
			if svc.Spec.Selector["app.kubernetes.io/name"] != "edge" {
				t.Errorf("backend Service %s selects %v, want the edge's pods", svc.Name, svc.Spec.Selector)
			}
			return
		}
	}
	t.Errorf("backend Service %s has no port %+v (it has %+v)", svc.Name, b.Service.Port, svc.Spec.Ports)
}

// checkStreamingAnnotations: ingress-nginx must not buffer a stream and
// must wait at least an hour on it (its default is a minute).
func checkStreamingAnnotations(t *testing.T, a map[string]string) {
	t.Helper()
	const prefix = "nginx.ingress.kubernetes.io/"
	if got := a[prefix+"proxy-buffering"]; got != "off" {
		t.Errorf("annotation proxy-buffering = %q, want off", got)
	}
	for _, k := range []string{"proxy-read-timeout", "proxy-send-timeout"} {
		v, err := strconv.Atoi(a[prefix+k])
		if err != nil || v < 3600 {
			t.Errorf("annotation %s = %q, want seconds, at least 3600", k, a[prefix+k])
		}
	}
	for k := range a {
		if !strings.HasPrefix(k, prefix) {
			t.Errorf("annotation %q: not one of ingress-nginx's", k)
		}
	}
}

// envValue is the literal value of a container's variable, "" when unset.
func envValue(env []corev1.EnvVar, name string) string {
	for _, e := range env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

func pathType(p *networkingv1.PathType) string {
	if p == nil {
		return "unset"
	}
	return string(*p)
}
