package deploy

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/camstream/camstream/test/harness"
)

// The production overlay's capture pods, run for real with their
// containers' env (pod names capture-0 … capture-N-1 from the downward
// API): each must be ready, and together they must own every camera of the
// ConfigMap exactly once. The cameras' addresses are moved to a closed port
// on 127.0.0.1, so no traffic leaves this machine.
func TestProductionShardsOwnEveryCameraOnce(t *testing.T) {
	m := render(t, "overlays/production")
	secrets := exampleSecrets(t, m.Dir)
	capture := m.Workload(t, "capture")
	cf := cameraFileOf(t, m, capture, capture.Container(t, "capture"))
	closed := "127.0.0.1:" + strconv.Itoa(harness.FreePort(t))
	toClosedPort := func(_, data string) string {
		for _, cam := range cf.Cameras {
			if _, rest, ok := strings.Cut(cam.Source, "@"); ok {
				host, _, _ := strings.Cut(rest, "/")
				data = strings.ReplaceAll(data, "@"+host+"/", "@"+closed+"/")
			}
		}
		return data
	}

	owner := map[string]string{}
	for i := range int(capture.Replicas) {
		pod := startPod(t, m, capture, "capture", podOptions{
			PodName: capture.Name + "-" + strconv.Itoa(i), Secrets: secrets, File: toClosedPort,
		})
		pod.WaitReady(t, time.Minute)
		grpcPort, _ := containerPort(pod.C, "grpc", 0)
		for _, id := range listCameras(t, pod.Addr(grpcPort.ContainerPort)) {
			if prev, dup := owner[id]; dup {
				t.Errorf("camera %s: owned by %s and %s, want one shard", id, prev, pod.Name)
			}
			owner[id] = pod.Name
		}
	}
	var got []string
	for id := range owner {
		got = append(got, id)
	}
	slices.Sort(got)
	if want := cameraIDs(cf); !slices.Equal(got, want) {
		t.Errorf("cameras owned by the %d shards: got %v, want every camera of the file %v", capture.Replicas, got, want)
	}
}
