package llamalibs

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

func openNoFollow(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
}

// sealedCopy copies the library at path into an anonymous memory file,
// seals it against every change, then hashes the sealed copy and compares
// it with want. The returned file is what the dynamic loader maps (through
// /proc/self/fd), so the bytes loaded are the bytes hashed: replacing or
// rewriting the file on disk after this point changes nothing.
func sealedCopy(path, name string, want [32]byte) (*os.File, error) {
	src, err := openNoFollow(path)
	if err != nil {
		return nil, refuse("%s: %v", name, err)
	}
	defer src.Close()
	st, err := src.Stat()
	if err != nil {
		return nil, refuse("%s: %v", name, err)
	}
	if !st.Mode().IsRegular() || st.Size() > maxLibSize {
		return nil, refuse("%s is not a regular file of sane size", name)
	}
	fd, err := unix.MemfdCreate("relay-"+name, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, refuse("memfd_create: %v", err)
	}
	mem := os.NewFile(uintptr(fd), name)
	ok := false
	defer func() {
		if !ok {
			mem.Close()
		}
	}()
	// io.Copy through a plain Writer: no copy_file_range or splice fast
	// path, just read and write.
	if _, err := io.Copy(struct{ io.Writer }{mem}, io.LimitReader(src, maxLibSize)); err != nil {
		return nil, refuse("%s: %v", name, err)
	}
	seals := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(mem.Fd(), unix.F_ADD_SEALS, seals); err != nil {
		return nil, refuse("%s: sealing: %v", name, err)
	}
	got, err := hashFile(mem)
	if err != nil {
		return nil, refuse("%s: %v", name, err)
	}
	if got != want {
		return nil, refuse("%s does not match its SHA-256 in %s", name, Manifest)
	}
	ok = true
	return mem, nil
}
