package config

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
)

// Shard is this process's part of the cameras when several capture
// processes share one camera file: it owns the cameras whose id hashes
// (FNV-1a, 32 bit) to Index modulo Count.
type Shard struct {
	Index, Count int
}

// ParseShard parses "i/n". i may also be a StatefulSet pod name ending in
// "-N" (Kubernetes sets CAPTURE_SHARD=$(POD_NAME)/3, so "capture-2/3" is
// shard 2 of 3). The empty string is the single shard that owns everything.
func ParseShard(s string) (Shard, error) {
	if s == "" {
		return Shard{Index: 0, Count: 1}, nil
	}
	index, count, ok := strings.Cut(s, "/")
	if !ok {
		return Shard{}, fmt.Errorf("shard %q: want i/n, e.g. 0/3 or capture-0/3", s)
	}
	n, err := strconv.Atoi(count)
	if err != nil || n < 1 {
		return Shard{}, fmt.Errorf("shard %q: shard count %q is not a positive number", s, count)
	}
	if dash := strings.LastIndexByte(index, '-'); dash > 0 {
		index = index[dash+1:]
	}
	i, err := strconv.Atoi(index)
	if err != nil || i < 0 {
		return Shard{}, fmt.Errorf("shard %q: index must be a number or a name ending in -N", s)
	}
	if i >= n {
		return Shard{}, fmt.Errorf("shard %q: index %d is not below the shard count %d", s, i, n)
	}
	return Shard{Index: i, Count: n}, nil
}

// Owns reports whether the camera id belongs to this shard.
func (s Shard) Owns(id string) bool {
	if s.Count <= 1 {
		return true
	}
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32()%uint32(s.Count)) == s.Index
}

// Filter returns the cameras this shard owns, in their original order.
func (s Shard) Filter(cams []Camera) []Camera {
	var own []Camera
	for _, c := range cams {
		if s.Owns(c.ID) {
			own = append(own, c)
		}
	}
	return own
}

// String prints the shard as i/n.
func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }
