package deploy

import (
	"bytes"
	"cmp"
	"encoding/json"
	"image/jpeg"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The images `make images` built, run as the dev overlay runs them: each
// image's entrypoint with exactly its container's args and env, as the
// image's user, the ConfigMap mounted where the pod mounts it, probed like
// the kubelet; edge streams JPEG frames of the test camera and of a real
// RTSP camera (which wants the example Secret's credentials) from capture.
// Then what the images hold: the user the processes run as, no shell in
// edge's image, no compiler or headers in capture's; their sizes go to the
// log with the biggest layers.
func TestImagesRunTheDevOverlay(t *testing.T) {
	m := render(t, "overlays/dev")
	capture, edge := m.Workload(t, "capture"), m.Workload(t, "edge")
	requireImages(t, capture.Container(t, "capture").Image, edge.Container(t, "edge").Image)
	secrets := exampleSecrets(t, m.Dir)
	cf := cameraFileOf(t, m, capture, capture.Container(t, "capture"))
	capEnv, err := resolveEnv(m, capture, capture.Container(t, "capture"), "capture-0", secrets)
	if err != nil {
		t.Fatal(err)
	}
	local := startRTSPFor(t, cf, capEnv)
	if local == nil {
		t.Fatal("the dev camera file has no RTSP camera: the RTSP path would go untested")
	}

	capPod := startPod(t, m, capture, "capture", podOptions{PodName: "capture-0", Secrets: secrets, File: local, Image: true})
	capPod.WaitReady(t, 2*time.Minute)
	edgePod := startPod(t, m, edge, "edge", podOptions{PodName: "edge-7d9c5b7f9-x2x4q", Secrets: secrets, Backends: []*localPod{capPod}, Image: true})
	edgePod.WaitReady(t, time.Minute)

	for _, p := range []*localPod{capPod, edgePod} {
		s := effectiveSecurity(p.W.Template.Spec.SecurityContext, p.C.SecurityContext)
		uid, gid, err := processIDs(p.image.pid)
		if err != nil {
			t.Fatal(err)
		}
		if uid != s.runAsUser || gid != s.runAsGroup {
			t.Errorf("%s: the image's process runs as %d:%d (image USER %q), want %d:%d as the pod's runAsUser:runAsGroup", p.W.ID(), uid, gid, p.image.config.User, s.runAsUser, s.runAsGroup)
		}
	}

	edgeEnv, err := resolveEnv(m, edge, edgePod.C, edgePod.Name, secrets)
	if err != nil {
		t.Fatal(err)
	}
	cp, ok := serviceTarget(edge, m.Service("edge").Spec.Ports[0])
	if !ok {
		t.Fatal("Service edge: no container port behind its first port")
	}
	edgeURL := "http://" + edgePod.Addr(cp.ContainerPort)
	for _, cam := range cf.Cameras {
		t.Run("stream "+cam.ID, func(t *testing.T) {
			frames, err := readMJPEG(t, edgeURL+"/cameras/"+cam.ID+"/stream.mjpeg", edgeEnv["EDGE_AUTH_TOKEN"], 3)
			if err != nil {
				t.Fatalf("GET /cameras/%s/stream.mjpeg (%s): %v", cam.ID, strings.SplitN(cam.Source, ":", 2)[0], err)
			}
			for i, f := range frames {
				if cfg, err := jpeg.DecodeConfig(bytes.NewReader(f)); err != nil || cfg.Width == 0 {
					t.Errorf("frame %d: a %d-byte part that is not a JPEG image: %v", i, len(f), err)
				}
			}
		})
	}

	checkImageFiles(t, edgePod, nil, []string{"bin/sh", "usr/bin/sh", "bin/bash", "bin/busybox", "usr/bin/apt-get"})
	checkImageFiles(t, capPod, []string{"usr/include", "usr/local/go", "usr/lib/gcc"},
		[]string{"usr/bin/gcc", "usr/bin/cc", "usr/bin/g++", "usr/bin/c++", "usr/bin/ld", "usr/bin/pkg-config"})
	for _, p := range []*localPod{edgePod, capPod} {
		if err := p.Terminate(); err != nil {
			t.Errorf("%s on SIGTERM: %v", p.W.ID(), err)
		}
		logImageSize(t, p.C.Image)
	}
}

// checkImageFiles fails for each path that the container's filesystem
// holds: noDirs must hold no regular file, noFiles must not exist.
func checkImageFiles(t *testing.T, p *localPod, noDirs, noFiles []string) {
	t.Helper()
	root := p.mountImage(t)
	for _, f := range noFiles {
		if _, err := os.Lstat(filepath.Join(root, f)); err == nil {
			t.Errorf("image %s holds /%s", p.C.Image, f)
		}
	}
	for _, d := range noDirs {
		var found []string
		filepath.WalkDir(filepath.Join(root, d), func(path string, e os.DirEntry, err error) error {
			if err == nil && e.Type().IsRegular() && len(found) < 3 {
				found = append(found, strings.TrimPrefix(path, root))
			}
			return nil
		})
		if len(found) > 0 {
			t.Errorf("image %s holds files under /%s, e.g. %v", p.C.Image, d, found)
		}
	}
}

// logImageSize logs an image's size and its three biggest layers with the
// step that made them (layer sizes from the local storage's records).
func logImageSize(t *testing.T, image string) {
	t.Helper()
	var img struct {
		OCIv1 struct {
			RootFS struct {
				DiffIDs []string `json:"diff_ids"`
			} `json:"rootfs"`
			History []struct {
				CreatedBy  string `json:"created_by"`
				EmptyLayer bool   `json:"empty_layer"`
			} `json:"history"`
		}
	}
	if err := json.Unmarshal([]byte(buildah(t, "inspect", "--type", "image", image)), &img); err != nil {
		t.Fatal(err)
	}
	sizes := layerSizes(t)
	type layer struct {
		size int64
		step string
	}
	var layers []layer
	var total int64
	i := 0
	for _, h := range img.OCIv1.History {
		if h.EmptyLayer || i >= len(img.OCIv1.RootFS.DiffIDs) {
			continue
		}
		size := sizes[img.OCIv1.RootFS.DiffIDs[i]]
		i++
		total += size
		step := h.CreatedBy
		if len(step) > 90 {
			step = step[:90] + "…"
		}
		layers = append(layers, layer{size, step})
	}
	slices.SortFunc(layers, func(a, b layer) int { return cmp.Compare(b.size, a.size) })
	t.Logf("image %s: %.1f MB in %d layers", image, float64(total)/1e6, len(layers))
	for _, l := range layers[:min(3, len(layers))] {
		t.Logf("  %7.1f MB  %s", float64(l.size)/1e6, l.step)
	}
}

// layerSizes maps a layer's uncompressed digest to its size, from the
// overlay storage's layer records.
func layerSizes(t *testing.T) map[string]int64 {
	t.Helper()
	root := strings.TrimSpace(buildah(t, "info", "--format", "{{.store.GraphRoot}}"))
	data, err := os.ReadFile(filepath.Join(root, "overlay-layers", "layers.json"))
	if err != nil {
		t.Logf("layer sizes: %v", err)
		return nil
	}
	var recs []struct {
		DiffDigest string `json:"diff-digest"`
		DiffSize   int64  `json:"diff-size"`
	}
	if err := json.Unmarshal(data, &recs); err != nil {
		t.Fatalf("layer records: %v", err)
	}
	sizes := map[string]int64{}
	for _, r := range recs {
		sizes[r.DiffDigest] = r.DiffSize
	}
	return sizes
}
