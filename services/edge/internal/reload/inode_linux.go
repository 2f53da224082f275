package reload

import (
	"os"
	"syscall"
)

// inode is the file's device and inode where the system has them: a file
// replaced by a rename keeps neither, whatever its size and time.
func inode(fi os.FileInfo) any {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return [2]uint64{uint64(st.Dev), uint64(st.Ino)}
	}
	return nil
}
