package config

import (
	"fmt"
	"strings"
	"testing"
)

func TestParseShard(t *testing.T) {
	tests := []struct {
		in      string
		want    Shard
		wantErr string
	}{
		{"", Shard{0, 1}, ""},
		{"0/1", Shard{0, 1}, ""},
		{"2/3", Shard{2, 3}, ""},
		{"capture-2/3", Shard{2, 3}, ""},
		{"camstream-capture-0/2", Shard{0, 2}, ""},
		{"3/3", Shard{}, "not below the shard count"},
		{"capture-5/3", Shard{}, "not below the shard count"},
		{"1", Shard{}, "want i/n"},
		{"1/0", Shard{}, "not a positive number"},
		{"1/x", Shard{}, "not a positive number"},
		{"capture/3", Shard{}, "index must be a number"},
		{"-1/3", Shard{}, "index must be a number"},
	}
	for _, tt := range tests {
		got, err := ParseShard(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseShard(%q) = %v, %v; want error containing %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseShard(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestShardOwnsEachCameraOnce(t *testing.T) {
	var cams []Camera
	for i := range 300 {
		cams = append(cams, Camera{ID: fmt.Sprintf("cam-%d", i)})
	}
	for _, n := range []int{1, 2, 3, 7} {
		owners := make(map[string]int)
		for i := range n {
			own := Shard{Index: i, Count: n}.Filter(cams)
			if n > 1 && (len(own) < len(cams)/n/2 || len(own) > 2*len(cams)/n) {
				t.Errorf("shard %d/%d owns %d of %d cameras, want about %d", i, n, len(own), len(cams), len(cams)/n)
			}
			for _, c := range own {
				owners[c.ID]++
			}
		}
		for _, c := range cams {
			if owners[c.ID] != 1 {
				t.Errorf("n=%d: camera %s is owned by %d shards, want 1", n, c.ID, owners[c.ID])
			}
		}
	}
}

// The assignment is part of the interface: the edge and operators can
// compute it. These values are FNV-1a 32-bit of the id, modulo 3.
func TestShardAssignmentIsStable(t *testing.T) {
	tests := []struct {
		id    string
		shard int
	}{
		{"test1", fnvMod("test1", 3)},
		{"front", fnvMod("front", 3)},
	}
	for _, tt := range tests {
		for i := range 3 {
			got := Shard{Index: i, Count: 3}.Owns(tt.id)
			if want := i == tt.shard; got != want {
				t.Errorf("Shard{%d,3}.Owns(%q) = %v, want %v", i, tt.id, got, want)
			}
		}
	}
}

// fnvMod is FNV-1a written out from its definition, independent of hash/fnv.
func fnvMod(s string, n uint32) int {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return int(h % n)
}
