package sandbox

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math"
	"os"
)

// HashFile opens path, checks it is a regular file, and returns the hex
// SHA-256 of its contents together with the still-open file. The digest is
// of the inode behind that descriptor: renaming another file over path
// afterwards changes neither. The file's offset is left at 0. The caller
// closes the file.
func HashFile(path string) (string, *os.File, error) {
	f, err := openRegular(path)
	if err != nil {
		return "", nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return "", nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return "", nil, errors.New("sandbox: program is not a regular file")
	}
	h := sha256.New()
	// ReadAt, not Read: the descriptor's offset stays where exec and any
	// later reader expect it.
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, math.MaxInt64)); err != nil {
		f.Close()
		return "", nil, err
	}
	return hex.EncodeToString(h.Sum(nil)), f, nil
}
