package deploy

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/camstream/camstream/test/harness"
)

// cameraConfigMap is the ConfigMap of the camera file, as generated.
const cameraConfigMap = "capture-cameras"

// A change of the camera file reaches running capture pods: in every
// kustomization the ConfigMap keeps its name (no hash suffix, so kubectl
// apply updates it in place rather than rolling the pods to a new one) and
// is mounted as a directory, never by subPath (the kubelet never updates a
// subPath mount). Run for real with the dev overlay's container, capture
// follows an update of its mounted ConfigMap made the kubelet's way
// (..data swap), without a restart.
func TestCameraFileUpdatesReachRunningPods(t *testing.T) {
	for _, m := range renderAll(t) {
		t.Run(m.Dir, func(t *testing.T) {
			w := m.Workload(t, "capture")
			c := w.Container(t, "capture")
			path := cameraFileOf(t, m, w, c).Path
			for _, vm := range c.VolumeMounts {
				if vm.MountPath != path && !strings.HasPrefix(path, vm.MountPath+"/") {
					continue
				}
				if vm.SubPath != "" || vm.SubPathExpr != "" {
					t.Errorf("%s: the camera file is mounted by subPath %q: the kubelet never updates it, mount the directory", w.ID(), vm.SubPath+vm.SubPathExpr)
				}
				v := volume(&w.Template.Spec, vm.Name)
				if v == nil || v.ConfigMap == nil {
					t.Errorf("%s: the camera file's mount %s is not a ConfigMap volume", w.ID(), vm.MountPath)
				} else if v.ConfigMap.Name != cameraConfigMap {
					t.Errorf("%s: the camera file's ConfigMap is %s: want %s, without a hash suffix (disableNameSuffixHash), so that kubectl apply updates it in place", w.ID(), v.ConfigMap.Name, cameraConfigMap)
				}
			}
		})
	}

	m := render(t, "overlays/dev")
	capture := m.Workload(t, "capture")
	c := capture.Container(t, "capture")
	cf := cameraFileOf(t, m, capture, c)
	testCameras := func(ids ...string) string {
		var b strings.Builder
		b.WriteString("cameras:\n")
		for _, id := range ids {
			b.WriteString("  - id: " + id + "\n    source: test://ball\n    fps: 5\n    width: 160\n")
		}
		return b.String()
	}
	pod := startPod(t, m, capture, "capture", podOptions{
		PodName: "capture-0", Secrets: exampleSecrets(t, m.Dir),
		File: func(key, data string) string {
			if key == filepath.Base(cf.Path) {
				return testCameras("yard")
			}
			return data
		},
	})
	pod.WaitReady(t, time.Minute)
	grpcPort, _ := containerPort(pod.C, "grpc", 0)
	addr := pod.Addr(grpcPort.ContainerPort)
	if got := listCameras(t, addr); !slices.Equal(got, []string{"yard"}) {
		t.Fatalf("capture's cameras at start: %v, want [yard]", got)
	}
	harness.KubeletWrite(t, pod.MountDir(filepath.Dir(cf.Path)), map[string]string{filepath.Base(cf.Path): testCameras("yard", "gate")})
	harness.WaitFor(t, time.Minute, "capture to list the camera added to its ConfigMap", func() bool {
		return slices.Equal(listCameras(t, addr), []string{"gate", "yard"})
	})
	if pod.proc.Exited() {
		t.Fatalf("capture exited: %v", pod.proc.Err())
	}
	if !strings.Contains(pod.Output(), `"msg":"camera file reloaded"`) {
		t.Errorf("capture's log does not say it reloaded the camera file:\n%s", pod.Output())
	}
}
