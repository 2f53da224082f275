package deploy

import (
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

func TestEveryKustomizationRendersAndDecodesStrictly(t *testing.T) {
	for _, m := range renderAll(t) {
		t.Run(m.Dir, func(t *testing.T) {
			if len(m.Workloads()) == 0 || len(m.Services) == 0 || len(m.ConfigMaps) == 0 {
				t.Errorf("got %d workloads, %d Services, %d ConfigMaps; want some of each",
					len(m.Workloads()), len(m.Services), len(m.ConfigMaps))
			}
		})
	}
}

// The strict decoding above must be able to fail: a misspelt field or an
// old apiVersion is what `kubectl apply` would reject (or silently drop).
func TestStrictDecodingRejectsMistakes(t *testing.T) {
	const kustomization = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [obj.yaml]\n"
	tests := []struct {
		name, obj, wantErr string
	}{
		{
			name:    "misspelt field",
			obj:     "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  replica: 2\n",
			wantErr: `unknown field "replica"`,
		},
		{
			name:    "field at the wrong level",
			obj:     "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec:\n  ports:\n    - port: 80\n      containerPort: 8080\n",
			wantErr: `unknown field "containerPort"`,
		},
		{
			name:    "removed apiVersion",
			obj:     "apiVersion: autoscaling/v2beta2\nkind: HorizontalPodAutoscaler\nmetadata: {name: x}\n",
			wantErr: `want "autoscaling/v2"`,
		},
		{
			name:    "kind the tests do not know",
			obj:     "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n",
			wantErr: "kind Pod",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := filesys.MakeFsInMemory()
			if err := fsys.WriteFile("/k/kustomization.yaml", []byte(kustomization)); err != nil {
				t.Fatal(err)
			}
			if err := fsys.WriteFile("/k/obj.yaml", []byte(tt.obj)); err != nil {
				t.Fatal(err)
			}
			_, err := renderFS(fsys, "/k")
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("render: got error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestSelectorsMatchPods(t *testing.T) {
	for _, m := range renderAll(t) {
		t.Run(m.Dir, func(t *testing.T) {
			for _, w := range m.Workloads() {
				got := m.PodsSelectedBy(t, w.Namespace, w.Selector)
				if len(got) != 1 || got[0].ID() != w.ID() {
					t.Errorf("%s: selector %v selects the pods of %v, want its own only", w.ID(), w.Selector.MatchLabels, ids(got))
				}
				for _, c := range w.Template.Spec.TopologySpreadConstraints {
					if got := m.PodsSelectedBy(t, w.Namespace, c.LabelSelector); len(got) != 1 || got[0].ID() != w.ID() {
						t.Errorf("%s: topology spread over %s selects %v, want its own pods", w.ID(), c.TopologyKey, ids(got))
					}
				}
			}
			for _, s := range m.Services {
				got := m.PodsSelectedBy(t, s.Namespace, metaSelector(s.Spec.Selector))
				if len(got) != 1 {
					t.Errorf("Service %s: selector %v selects %v, want exactly one workload's pods", s.Name, s.Spec.Selector, ids(got))
				}
			}
			for _, p := range m.PDBs {
				if got := m.PodsSelectedBy(t, p.Namespace, p.Spec.Selector); len(got) != 1 {
					t.Errorf("PodDisruptionBudget %s: selects %v, want exactly one workload's pods", p.Name, ids(got))
				}
			}
			for _, s := range m.StatefulSets {
				svc := m.Service(s.Spec.ServiceName)
				if svc == nil {
					t.Errorf("StatefulSet %s: serviceName %q: no such Service", s.Name, s.Spec.ServiceName)
					continue
				}
				if svc.Spec.ClusterIP != corev1.ClusterIPNone {
					t.Errorf("StatefulSet %s: Service %s has clusterIP %q, want None (headless)", s.Name, svc.Name, svc.Spec.ClusterIP)
				}
				if got := m.PodsSelectedBy(t, svc.Namespace, metaSelector(svc.Spec.Selector)); len(got) != 1 || got[0].Name != s.Name {
					t.Errorf("StatefulSet %s: its Service %s selects %v, want its pods", s.Name, svc.Name, ids(got))
				}
			}
			for _, h := range m.HPAs {
				ref := h.Spec.ScaleTargetRef
				found := false
				for _, w := range m.Workloads() {
					found = found || (w.Kind == ref.Kind && w.Name == ref.Name && ref.APIVersion == "apps/v1")
				}
				if !found {
					t.Errorf("HorizontalPodAutoscaler %s: scaleTargetRef %s %s/%s: no such workload", h.Name, ref.APIVersion, ref.Kind, ref.Name)
				}
			}
		})
	}
}

func TestServicesTargetContainerPorts(t *testing.T) {
	for _, m := range renderAll(t) {
		t.Run(m.Dir, func(t *testing.T) {
			for _, s := range m.Services {
				pods := m.PodsSelectedBy(t, s.Namespace, metaSelector(s.Spec.Selector))
				if len(pods) != 1 {
					continue // reported by TestSelectorsMatchPods
				}
				for _, p := range s.Spec.Ports {
					cp, ok := serviceTarget(pods[0], p)
					if !ok {
						t.Errorf("Service %s port %q: targetPort %s names no container port of %s", s.Name, p.Name, p.TargetPort.String(), pods[0].ID())
						continue
					}
					if proto(cp.Protocol) != proto(p.Protocol) {
						t.Errorf("Service %s port %q: protocol %s, container port %s is %s", s.Name, p.Name, proto(p.Protocol), cp.Name, proto(cp.Protocol))
					}
					if p.NodePort != 0 && (p.NodePort < 30000 || p.NodePort > 32767) {
						t.Errorf("Service %s port %q: nodePort %d outside the default range 30000-32767", s.Name, p.Name, p.NodePort)
					}
				}
			}
		})
	}
}

func TestProbesUseContainerPorts(t *testing.T) {
	for _, m := range renderAll(t) {
		t.Run(m.Dir, func(t *testing.T) {
			for _, w := range m.Workloads() {
				for _, c := range w.Template.Spec.Containers {
					if c.ReadinessProbe == nil || c.LivenessProbe == nil {
						t.Errorf("%s container %s: readinessProbe %v, livenessProbe %v, want both", w.ID(), c.Name, c.ReadinessProbe != nil, c.LivenessProbe != nil)
					}
					for kind, p := range map[string]*corev1.Probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe, "startup": c.StartupProbe} {
						if p == nil {
							continue
						}
						if err := probePortExists(&c, p); err != "" {
							t.Errorf("%s container %s %s probe: %s", w.ID(), c.Name, kind, err)
						}
					}
				}
			}
		})
	}
}

// The probes each service's health endpoints are made for: gRPC health
// for capture's readiness, /readyz and /healthz for edge.
func TestProbeKinds(t *testing.T) {
	for _, m := range renderAll(t) {
		t.Run(m.Dir, func(t *testing.T) {
			capture := m.Workload(t, "capture").Container(t, "capture")
			if p := capture.ReadinessProbe; p == nil || p.GRPC == nil {
				t.Errorf("capture readinessProbe: got %+v, want a gRPC probe", p)
			}
			edge := m.Workload(t, "edge").Container(t, "edge")
			for kind, tt := range map[string]struct {
				p    *corev1.Probe
				path string
			}{"readiness": {edge.ReadinessProbe, "/readyz"}, "liveness": {edge.LivenessProbe, "/healthz"}} {
				if tt.p == nil || tt.p.HTTPGet == nil || tt.p.HTTPGet.Path != tt.path {
					t.Errorf("edge %s probe: got %+v, want GET %s", kind, tt.p, tt.path)
				}
			}
		})
	}
}

func TestPodSecurity(t *testing.T) {
	for _, m := range renderAll(t) {
		t.Run(m.Dir, func(t *testing.T) {
			for _, w := range m.Workloads() {
				spec := w.Template.Spec
				if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
					t.Errorf("%s: automountServiceAccountToken: want false (no Kubernetes API access needed)", w.ID())
				}
				if spec.EnableServiceLinks == nil || *spec.EnableServiceLinks {
					t.Errorf("%s: enableServiceLinks: want false (service links add *_PORT variables the binaries would see)", w.ID())
				}
				if spec.HostNetwork || spec.HostPID || spec.HostIPC {
					t.Errorf("%s: host namespaces: want none", w.ID())
				}
				for _, c := range spec.Containers {
					s := effectiveSecurity(spec.SecurityContext, c.SecurityContext)
					for _, tt := range []struct {
						what string
						ok   bool
					}{
						{"runAsNonRoot true", s.runAsNonRoot},
						{"runAsUser set and not 0", s.runAsUser > 0},
						{"readOnlyRootFilesystem true", s.readOnlyRoot},
						{"allowPrivilegeEscalation false", s.noEscalation},
						{"capabilities drop ALL, add none", s.dropAll},
						{"seccompProfile RuntimeDefault", s.seccompDefault},
						{"not privileged", !s.privileged},
					} {
						if !tt.ok {
							t.Errorf("%s container %s: securityContext: want %s", w.ID(), c.Name, tt.what)
						}
					}
				}
			}
		})
	}
}

func TestResources(t *testing.T) {
	for _, m := range renderAll(t) {
		t.Run(m.Dir, func(t *testing.T) {
			for _, w := range m.Workloads() {
				for _, c := range w.Template.Spec.Containers {
					req, lim := c.Resources.Requests, c.Resources.Limits
					for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
						r, ok := req[name]
						if !ok || r.IsZero() {
							t.Errorf("%s container %s: requests.%s: want set", w.ID(), c.Name, name)
						}
						if l, ok := lim[name]; ok && l.Cmp(r) < 0 {
							t.Errorf("%s container %s: limits.%s %s below requests %s", w.ID(), c.Name, name, l.String(), r.String())
						}
					}
					if l, ok := lim[corev1.ResourceMemory]; !ok || l.IsZero() {
						t.Errorf("%s container %s: limits.memory: want set", w.ID(), c.Name)
					}
				}
			}
		})
	}
}

func TestLabels(t *testing.T) {
	for _, m := range renderAll(t) {
		t.Run(m.Dir, func(t *testing.T) {
			for _, o := range m.Objects {
				want := []string{"app.kubernetes.io/part-of", "app.kubernetes.io/managed-by"}
				if _, isNamespace := o.(*corev1.Namespace); !isNamespace {
					want = append(want, "app.kubernetes.io/name", "app.kubernetes.io/instance")
				}
				for _, k := range want {
					if o.GetLabels()[k] == "" {
						t.Errorf("%T %s: label %s: want set", o, o.GetName(), k)
					}
				}
				if got := o.GetLabels()["app.kubernetes.io/part-of"]; got != "camstream" {
					t.Errorf("%T %s: label app.kubernetes.io/part-of: got %q, want camstream", o, o.GetName(), got)
				}
			}
			for _, w := range m.Workloads() {
				for _, k := range []string{"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component", "app.kubernetes.io/part-of"} {
					if w.Template.Labels[k] == "" {
						t.Errorf("%s pod template: label %s: want set", w.ID(), k)
					}
				}
			}
		})
	}
}

// Prometheus finds the pods through the annotations; the port must be one
// the pod listens on.
func TestScrapeAnnotations(t *testing.T) {
	for _, m := range renderAll(t) {
		t.Run(m.Dir, func(t *testing.T) {
			for _, w := range m.Workloads() {
				a := w.Template.Annotations
				if a["prometheus.io/scrape"] != "true" {
					t.Errorf("%s: prometheus.io/scrape: got %q, want \"true\"", w.ID(), a["prometheus.io/scrape"])
				}
				if !strings.HasPrefix(a["prometheus.io/path"], "/") {
					t.Errorf("%s: prometheus.io/path: got %q, want a path", w.ID(), a["prometheus.io/path"])
				}
				port, err := strconv.Atoi(a["prometheus.io/port"])
				found := false
				for _, c := range w.Template.Spec.Containers {
					_, ok := containerPort(&c, "", int32(port))
					found = found || ok
				}
				if err != nil || !found {
					t.Errorf("%s: prometheus.io/port %q: want a container port", w.ID(), a["prometheus.io/port"])
				}
			}
		})
	}
}

// The kubelet sends SIGTERM after preStop and SIGKILL after the grace
// period: the period must cover the preStop pause and leave time for the
// streams to end.
func TestGracefulTermination(t *testing.T) {
	const minShutdown = 10 // seconds after SIGTERM
	for _, m := range renderAll(t) {
		t.Run(m.Dir, func(t *testing.T) {
			for _, w := range m.Workloads() {
				grace := int64(30) // the API default
				if g := w.Template.Spec.TerminationGracePeriodSeconds; g != nil {
					grace = *g
				}
				for _, c := range w.Template.Spec.Containers {
					var pause int64
					if c.Lifecycle != nil && c.Lifecycle.PreStop != nil {
						if s := c.Lifecycle.PreStop.Sleep; s != nil {
							pause = s.Seconds
						} else {
							t.Errorf("%s container %s: preStop: want a sleep action (the images have no shell)", w.ID(), c.Name)
						}
					}
					if grace-pause < minShutdown {
						t.Errorf("%s container %s: terminationGracePeriodSeconds %d with a %d s preStop leaves %d s to shut down, want at least %d",
							w.ID(), c.Name, grace, pause, grace-pause, minShutdown)
					}
				}
			}
		})
	}
}

func TestImagesArePinned(t *testing.T) {
	for _, m := range renderAll(t) {
		t.Run(m.Dir, func(t *testing.T) {
			for _, w := range m.Workloads() {
				for _, c := range w.Template.Spec.Containers {
					tag := imageTag(c.Image)
					if tag == "" || tag == "latest" {
						t.Errorf("%s container %s: image %q: want a version tag or a digest", w.ID(), c.Name, c.Image)
					}
					if got := imageBinary(c.Image); got != c.Name {
						t.Errorf("%s container %s: image %q runs %q, want the image named after the container", w.ID(), c.Name, c.Image, got)
					}
				}
			}
		})
	}
}

// Every volume a container mounts exists; a ConfigMap volume names a
// rendered ConfigMap (its generated name); every Secret a container reads
// is either rendered or documented by an example beside the kustomization.
func TestVolumesAndSecretsExist(t *testing.T) {
	for _, m := range renderAll(t) {
		t.Run(m.Dir, func(t *testing.T) {
			examples := exampleSecrets(t, m.Dir)
			for _, w := range m.Workloads() {
				spec := w.Template.Spec
				for _, c := range spec.Containers {
					for _, vm := range c.VolumeMounts {
						v := volume(&spec, vm.Name)
						switch {
						case v == nil:
							t.Errorf("%s container %s: mount %s: no volume %q", w.ID(), c.Name, vm.MountPath, vm.Name)
						case v.ConfigMap != nil:
							cm := m.ConfigMap(v.ConfigMap.Name)
							if cm == nil {
								t.Errorf("%s volume %s: ConfigMap %q is not rendered", w.ID(), v.Name, v.ConfigMap.Name)
								continue
							}
							for _, it := range v.ConfigMap.Items {
								if _, ok := cm.Data[it.Key]; !ok {
									t.Errorf("%s volume %s: ConfigMap %s has no key %q", w.ID(), v.Name, cm.Name, it.Key)
								}
							}
						}
					}
					for _, e := range c.Env {
						if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
							continue
						}
						ref := e.ValueFrom.SecretKeyRef
						ex, documented := examples[ref.Name]
						_, hasKey := ex[ref.Key]
						optional := ref.Optional != nil && *ref.Optional
						if (!optional || documented) && !hasKey {
							t.Errorf("%s container %s: env %s reads Secret %s key %s: want it in %s/%s.env.example", w.ID(), c.Name, e.Name, ref.Name, ref.Key, m.Dir, ref.Name)
						}
					}
					if len(c.EnvFrom) > 0 {
						t.Errorf("%s container %s: envFrom: want each variable listed, so the tests can check it", w.ID(), c.Name)
					}
				}
			}
		})
	}
}

// capture reads its camera file from CAPTURE_CONFIG: it must be the file a
// ConfigMap volume puts there, hold no credentials, and every ${VAR} in it
// must come from a Secret.
func TestCameraFileComesFromConfigMapAndSecrets(t *testing.T) {
	userinfo := regexp.MustCompile(`^\$\{[A-Za-z_][A-Za-z0-9_]*\}(:\$\{[A-Za-z_][A-Za-z0-9_]*\})?$`)
	for _, m := range renderAll(t) {
		t.Run(m.Dir, func(t *testing.T) {
			w := m.Workload(t, "capture")
			c := w.Container(t, "capture")
			cf := cameraFileOf(t, m, w, c)
			if len(cf.Cameras) == 0 {
				t.Fatalf("camera file %s: no cameras", cf.Path)
			}
			env := envByName(c)
			for _, cam := range cf.Cameras {
				if u, err := url.Parse(strings.NewReplacer("${", "", "}", "").Replace(cam.Source)); err == nil && u.User != nil {
					raw, _, _ := strings.Cut(strings.SplitN(cam.Source, "://", 2)[1], "@")
					if !userinfo.MatchString(raw) {
						t.Errorf("camera %s: source %q: user and password must be ${VAR} references, not written in the file", cam.ID, redactedSource(cam.Source))
					}
				}
				for _, v := range cam.Vars() {
					e, ok := env[v]
					switch {
					case !ok:
						t.Errorf("camera %s: ${%s}: not set in capture's env (capture would refuse to start)", cam.ID, v)
					case e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil:
						t.Errorf("camera %s: ${%s}: want it from a Secret (secretKeyRef), got %+v", cam.ID, v, e)
					case e.ValueFrom.SecretKeyRef.Optional != nil && *e.ValueFrom.SecretKeyRef.Optional:
						t.Errorf("camera %s: ${%s}: the Secret is optional; capture refuses to start without it, want it required", cam.ID, v)
					}
				}
			}
			for name, vals := range exampleSecrets(t, m.Dir) {
				for k, v := range vals {
					if strings.Contains(cf.Data, v) {
						t.Errorf("camera file %s: contains the value of Secret %s key %s", cf.Path, name, k)
					}
				}
			}
		})
	}
}

// Every variable a manifest sets is one the binary reads (a misspelt one
// would be ignored without a word), the ones the cluster needs are set,
// and each container port is an address the binary is told to listen on.
func TestEnvVarsAreReadByBinaries(t *testing.T) {
	help := map[string]binaryHelp{"capture": readHelp(t, "capture"), "edge": readHelp(t, "edge")}
	// Without these the binaries would use their laptop defaults: the
	// built-in test cameras, and a capture on localhost.
	required := map[string][]string{"capture": {"CAPTURE_CONFIG"}, "edge": {"EDGE_CAPTURE"}}
	// Documented OpenCV variables, read by the library inside capture.
	opencv := []string{"OPENCV_FFMPEG_CAPTURE_OPTIONS", "OPENCV_LOG_LEVEL"}
	for _, m := range renderAll(t) {
		t.Run(m.Dir, func(t *testing.T) {
			for _, w := range m.Workloads() {
				for _, c := range w.Template.Spec.Containers {
					bin := imageBinary(c.Image)
					h, ok := help[bin]
					if !ok {
						t.Errorf("%s container %s: image %s is not one of camstream's binaries", w.ID(), c.Name, c.Image)
						continue
					}
					reads := maps.Clone(h.Env)
					if bin == "capture" {
						for _, v := range opencv {
							reads[v] = true
						}
						for _, cam := range cameraFileOf(t, m, w, &c).Cameras {
							for _, v := range cam.Vars() {
								reads[v] = true
							}
						}
					}
					if len(c.Command) > 0 {
						t.Errorf("%s container %s: command %v: want the image's entrypoint", w.ID(), c.Name, c.Command)
					}
					referenced := make(map[string]bool)
					for _, s := range c.Args {
						for _, r := range varRefs(s) {
							referenced[r] = true
						}
						if strings.HasPrefix(s, "-") {
							name, _, _ := strings.Cut(strings.TrimLeft(s, "-"), "=")
							if !h.Flags[name] {
								t.Errorf("%s container %s: arg %q: %s has no flag %q", w.ID(), c.Name, s, bin, name)
							}
						}
					}
					for _, e := range c.Env {
						for _, r := range varRefs(e.Value) {
							referenced[r] = true
						}
					}
					defined := make(map[string]bool)
					for _, e := range c.Env {
						for _, r := range varRefs(e.Value) {
							if !defined[r] {
								t.Errorf("%s container %s: env %s uses $(%s) before it is defined: the kubelet would leave it as written", w.ID(), c.Name, e.Name, r)
							}
						}
						if defined[e.Name] {
							t.Errorf("%s container %s: env %s: set twice", w.ID(), c.Name, e.Name)
						}
						defined[e.Name] = true
						if !reads[e.Name] && !referenced[e.Name] {
							t.Errorf("%s container %s: env %s: %s does not read it (it reads %v)", w.ID(), c.Name, e.Name, bin, slices.Sorted(maps.Keys(reads)))
						}
					}
					for _, name := range required[bin] {
						if !defined[name] {
							t.Errorf("%s container %s: env %s: want it set", w.ID(), c.Name, name)
						}
					}
					env, err := resolveEnvList(m, w, &c, w.Name+"-0", nil)
					if err != nil {
						t.Fatal(err)
					}
					for _, p := range c.Ports {
						if !listensOn(env, c.Args, p.ContainerPort) {
							t.Errorf("%s container %s: port %s (%d): no listen address in env or args names it", w.ID(), c.Name, p.Name, p.ContainerPort)
						}
					}
				}
			}
		})
	}
}

func TestDevOverlay(t *testing.T) {
	m := render(t, "overlays/dev")
	if got := len(m.Workloads()); got != 2 {
		t.Errorf("workloads: got %d (%v), want 2", got, ids(m.Workloads()))
	}
	for _, name := range []string{"capture", "edge"} {
		if w := m.Workload(t, name); w.Replicas != 1 {
			t.Errorf("%s replicas: got %d, want 1", w.ID(), w.Replicas)
		}
	}
	svc := m.Service("edge")
	if svc == nil {
		t.Fatal("Service edge: not rendered")
	}
	if svc.Spec.Type != corev1.ServiceTypeNodePort || len(svc.Spec.Ports) != 1 {
		t.Fatalf("Service edge: got type %s with %d ports, want NodePort with 1", svc.Spec.Type, len(svc.Spec.Ports))
	}
	p := svc.Spec.Ports[0]
	cp, _ := serviceTarget(m.Workload(t, "edge"), p)
	if p.Port != 6060 || cp.ContainerPort != 8080 || p.NodePort != 30001 {
		t.Errorf("Service edge: got port %d → container port %d, nodePort %d; want 6060 → 8080, nodePort 30001", p.Port, cp.ContainerPort, p.NodePort)
	}
	w := m.Workload(t, "capture")
	cf := cameraFileOf(t, m, w, w.Container(t, "capture"))
	var hasTest, hasRTSP bool
	for _, cam := range cf.Cameras {
		hasTest = hasTest || strings.HasPrefix(cam.Source, "test://")
		hasRTSP = hasRTSP || strings.HasPrefix(cam.Source, "rtsp://")
	}
	if !hasTest || !hasRTSP {
		t.Errorf("dev cameras: test pattern %v, RTSP camera %v; want both (one that runs anywhere, one showing how credentials come in)", hasTest, hasRTSP)
	}
}

func TestProductionOverlay(t *testing.T) {
	m := render(t, "overlays/production")
	if len(m.StatefulSets) != 1 || m.StatefulSets[0].Name != "capture" {
		t.Fatalf("StatefulSets: got %v, want capture", ids(m.Workloads()))
	}
	capture := m.Workload(t, "capture")
	if capture.Replicas < 2 {
		t.Errorf("capture replicas: got %d, want at least 2 shards", capture.Replicas)
	}
	// The shard count in CAPTURE_SHARD must follow the replicas, and the
	// shard number must come from the pod's name.
	for i := range capture.Replicas {
		pod := capture.Name + "-" + strconv.Itoa(int(i))
		env, err := resolveEnv(m, capture, capture.Container(t, "capture"), pod, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := pod + "/" + strconv.Itoa(int(capture.Replicas))
		if got := env["CAPTURE_SHARD"]; got != want {
			t.Errorf("pod %s: CAPTURE_SHARD: got %q, want %q", pod, got, want)
		}
	}

	edge := m.Workload(t, "edge")
	if edge.Replicas < 2 {
		t.Errorf("edge replicas: got %d, want at least 2", edge.Replicas)
	}
	if len(edge.Template.Spec.TopologySpreadConstraints) == 0 {
		t.Error("edge: no topologySpreadConstraints, want the pods spread over nodes")
	}
	var hpaOK bool
	for _, h := range m.HPAs {
		if h.Spec.ScaleTargetRef.Name != "edge" {
			continue
		}
		for _, mt := range h.Spec.Metrics {
			hpaOK = hpaOK || (mt.Resource != nil && mt.Resource.Name == corev1.ResourceCPU)
		}
		if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas < 2 || h.Spec.MaxReplicas < *h.Spec.MinReplicas {
			t.Errorf("HorizontalPodAutoscaler %s: min %v max %d, want min ≥ 2 ≤ max", h.Name, h.Spec.MinReplicas, h.Spec.MaxReplicas)
		}
	}
	if !hpaOK {
		t.Error("no HorizontalPodAutoscaler on CPU for edge")
	}
	for _, c := range edge.Template.Spec.Containers {
		if q := c.Resources.Requests[corev1.ResourceCPU]; q.IsZero() {
			t.Errorf("edge container %s: no CPU request, the autoscaler's utilisation is relative to it", c.Name)
		}
	}
	for _, w := range []workload{capture, edge} {
		covered := false
		for _, p := range m.PDBs {
			got := m.PodsSelectedBy(t, p.Namespace, p.Spec.Selector)
			covered = covered || (len(got) == 1 && got[0].ID() == w.ID())
		}
		if !covered {
			t.Errorf("%s: no PodDisruptionBudget", w.ID())
		}
	}

	// edge finds every shard through the headless Service, in this
	// namespace, on its gRPC port.
	env, err := resolveEnv(m, edge, edge.Container(t, "edge"), "edge-0", nil)
	if err != nil {
		t.Fatal(err)
	}
	target := env["EDGE_CAPTURE"]
	if !strings.HasPrefix(target, "dns:///") {
		t.Fatalf("EDGE_CAPTURE: got %q, want dns:///<headless service>:<port>", target)
	}
	svc, port, ok := lookupService(m, edge.Namespace, strings.TrimPrefix(target, "dns:///"))
	if !ok {
		t.Fatalf("EDGE_CAPTURE %q: names no Service port in namespace %s", target, edge.Namespace)
	}
	if svc.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Errorf("EDGE_CAPTURE %q: Service %s is not headless: dns:/// would find one virtual IP, not every shard", target, svc.Name)
	}
	if cp, _ := serviceTarget(capture, port); cp.Name != "grpc" {
		t.Errorf("EDGE_CAPTURE %q: reaches capture's port %q, want grpc", target, cp.Name)
	}
}

// The NetworkPolicy must select the real capture pods, let the real edge
// pods in on the gRPC port, and nobody else.
func TestNetworkPolicySelectsRealPods(t *testing.T) {
	m := render(t, "overlays/production")
	capture, edge := m.Workload(t, "capture"), m.Workload(t, "edge")
	grpcPort, _ := containerPort(capture.Container(t, "capture"), "grpc", 0)
	guarded := false
	for _, np := range m.NetworkPolicies {
		pods := m.PodsSelectedBy(t, np.Namespace, &np.Spec.PodSelector)
		if len(pods) != 1 || pods[0].ID() != capture.ID() {
			t.Errorf("NetworkPolicy %s: selects %v, want %s", np.Name, ids(pods), capture.ID())
			continue
		}
		if !slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) {
			t.Errorf("NetworkPolicy %s: policyTypes %v, want Ingress", np.Name, np.Spec.PolicyTypes)
		}
		for i, rule := range np.Spec.Ingress {
			reachesGRPC := len(rule.Ports) == 0
			for _, p := range rule.Ports {
				cp, ok := policyPort(capture, p)
				if !ok {
					t.Errorf("NetworkPolicy %s rule %d: port %v names no container port of %s", np.Name, i, p.Port, capture.ID())
				}
				reachesGRPC = reachesGRPC || cp.ContainerPort == grpcPort.ContainerPort
			}
			if !reachesGRPC {
				continue
			}
			if len(rule.From) == 0 {
				t.Errorf("NetworkPolicy %s rule %d: lets everyone reach the gRPC port", np.Name, i)
			}
			for _, peer := range rule.From {
				if peer.PodSelector == nil || peer.NamespaceSelector != nil || peer.IPBlock != nil {
					t.Errorf("NetworkPolicy %s rule %d: peer %+v: want only a podSelector for edge in this namespace", np.Name, i, peer)
					continue
				}
				if got := m.PodsSelectedBy(t, np.Namespace, peer.PodSelector); len(got) != 1 || got[0].ID() != edge.ID() {
					t.Errorf("NetworkPolicy %s rule %d: lets in %v on the gRPC port, want %s", np.Name, i, ids(got), edge.ID())
				}
			}
			guarded = true
		}
	}
	if !guarded {
		t.Errorf("no NetworkPolicy lets edge reach capture's gRPC port (and so none guards it)")
	}
}

// ---- helpers ----

// listenPattern is an address to listen on: ":8080", "0.0.0.0:8080", "[::]:8080".
var listenPattern = regexp.MustCompile(`^(0\.0\.0\.0|\[::\])?:([0-9]+)$`)

// listensOn reports whether an env value or arg (--flag=VALUE) is a listen
// address for port.
func listensOn(env []envPair, args []string, port int32) bool {
	values := slices.Clone(args)
	for _, p := range env {
		values = append(values, p.Value)
	}
	for _, v := range values {
		if _, after, ok := strings.Cut(v, "="); ok && strings.HasPrefix(v, "-") {
			v = after
		}
		if m := listenPattern.FindStringSubmatch(v); m != nil && m[2] == strconv.Itoa(int(port)) {
			return true
		}
	}
	return false
}

func ids(ws []workload) []string {
	var s []string
	for _, w := range ws {
		s = append(s, w.ID())
	}
	return s
}

func proto(p corev1.Protocol) corev1.Protocol {
	if p == "" {
		return corev1.ProtocolTCP
	}
	return p
}

// serviceTarget returns the container port a Service port sends traffic to.
func serviceTarget(w workload, p corev1.ServicePort) (corev1.ContainerPort, bool) {
	tp := p.TargetPort
	if tp.Type == intstr.Int && tp.IntVal == 0 {
		tp = intstr.FromInt32(p.Port)
	}
	for _, c := range w.Template.Spec.Containers {
		if cp, ok := containerPort(&c, stringOf(tp), tp.IntVal); ok {
			return cp, true
		}
	}
	return corev1.ContainerPort{}, false
}

func policyPort(w workload, p networkingv1.NetworkPolicyPort) (corev1.ContainerPort, bool) {
	if p.Port == nil {
		return corev1.ContainerPort{}, true // every port
	}
	for _, c := range w.Template.Spec.Containers {
		if cp, ok := containerPort(&c, stringOf(*p.Port), p.Port.IntVal); ok && proto(cp.Protocol) == proto(ptrOr(p.Protocol, "")) {
			return cp, true
		}
	}
	return corev1.ContainerPort{}, false
}

func stringOf(v intstr.IntOrString) string {
	if v.Type == intstr.String {
		return v.StrVal
	}
	return ""
}

func ptrOr[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

func probePortExists(c *corev1.Container, p *corev1.Probe) string {
	switch {
	case p.GRPC != nil:
		if _, ok := containerPort(c, "", p.GRPC.Port); !ok {
			return "gRPC port " + strconv.Itoa(int(p.GRPC.Port)) + " is not a container port"
		}
	case p.HTTPGet != nil:
		if _, ok := containerPort(c, stringOf(p.HTTPGet.Port), p.HTTPGet.Port.IntVal); !ok {
			return "HTTP port " + p.HTTPGet.Port.String() + " is not a container port"
		}
		if !strings.HasPrefix(p.HTTPGet.Path, "/") {
			return "HTTP path " + strconv.Quote(p.HTTPGet.Path) + " is not a path"
		}
	case p.TCPSocket != nil:
		if _, ok := containerPort(c, stringOf(p.TCPSocket.Port), p.TCPSocket.Port.IntVal); !ok {
			return "TCP port " + p.TCPSocket.Port.String() + " is not a container port"
		}
	default:
		return "want a gRPC, HTTP or TCP probe (the images have no shell for exec)"
	}
	return ""
}

type security struct {
	runAsNonRoot, readOnlyRoot, noEscalation, dropAll, seccompDefault, privileged bool
	runAsUser, runAsGroup                                                         int64
}

// effectiveSecurity merges the pod's and the container's securityContext
// the way the kubelet does: the container's setting wins.
func effectiveSecurity(pod *corev1.PodSecurityContext, c *corev1.SecurityContext) security {
	var s security
	var seccomp *corev1.SeccompProfile
	if pod != nil {
		s.runAsNonRoot = ptrOr(pod.RunAsNonRoot, false)
		s.runAsUser = ptrOr(pod.RunAsUser, 0)
		s.runAsGroup = ptrOr(pod.RunAsGroup, 0)
		seccomp = pod.SeccompProfile
	}
	if c != nil {
		s.runAsNonRoot = ptrOr(c.RunAsNonRoot, s.runAsNonRoot)
		s.runAsUser = ptrOr(c.RunAsUser, s.runAsUser)
		s.runAsGroup = ptrOr(c.RunAsGroup, s.runAsGroup)
		s.readOnlyRoot = ptrOr(c.ReadOnlyRootFilesystem, false)
		s.noEscalation = c.AllowPrivilegeEscalation != nil && !*c.AllowPrivilegeEscalation
		s.privileged = ptrOr(c.Privileged, false)
		if c.Capabilities != nil {
			s.dropAll = slices.Contains(c.Capabilities.Drop, "ALL") && len(c.Capabilities.Add) == 0
		}
		if c.SeccompProfile != nil {
			seccomp = c.SeccompProfile
		}
	}
	s.seccompDefault = seccomp != nil && seccomp.Type == corev1.SeccompProfileTypeRuntimeDefault
	return s
}

func volume(spec *corev1.PodSpec, name string) *corev1.Volume {
	for i := range spec.Volumes {
		if spec.Volumes[i].Name == name {
			return &spec.Volumes[i]
		}
	}
	return nil
}

func envByName(c *corev1.Container) map[string]corev1.EnvVar {
	env := make(map[string]corev1.EnvVar, len(c.Env))
	for _, e := range c.Env {
		env[e.Name] = e
	}
	return env
}

// imageTag returns the tag (or digest) of an image reference.
func imageTag(image string) string {
	if _, digest, ok := strings.Cut(image, "@"); ok {
		return digest
	}
	last := image[strings.LastIndex(image, "/")+1:]
	_, tag, _ := strings.Cut(last, ":")
	return tag
}

// imageBinary returns which binary an image runs, from its repository's
// last path element: registry.example.com/camstream/capture:1 → capture.
func imageBinary(image string) string {
	image, _, _ = strings.Cut(image, "@")
	last := image[strings.LastIndex(image, "/")+1:]
	name, _, _ := strings.Cut(last, ":")
	return name
}
