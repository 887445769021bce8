package discovery

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func self(t *testing.T) Info {
	t.Helper()
	tok, err := NewToken()
	if err != nil {
		t.Fatal(err)
	}
	info, err := Self("http://127.0.0.1:8377", tok, "test")
	if err != nil {
		t.Fatal(err)
	}
	return info
}

func TestWriteFindRemove(t *testing.T) {
	dir := t.TempDir()
	if _, err := Find(dir); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("Find on an empty dir = %v, want ErrNotRunning", err)
	}
	info := self(t)
	if err := Write(dir, info); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, FileName))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("file mode %v (%v), want 0600", fi.Mode(), err)
	}
	got, err := Find(dir)
	if err != nil || got.Token != info.Token || got.PID != os.Getpid() || got.URL != info.URL {
		t.Fatalf("Find = %+v, %v", got, err)
	}
	// Another server's token does not remove it.
	other := self(t)
	if err := Remove(dir, other.Token); err != nil {
		t.Fatal(err)
	}
	if _, err := Find(dir); err != nil {
		t.Fatalf("the file went with another token's Remove: %v", err)
	}
	if err := Remove(dir, info.Token); err != nil {
		t.Fatal(err)
	}
	if _, err := Find(dir); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("after Remove, Find = %v", err)
	}
}

// A file left by a server that was killed is stale: Find removes it.
func TestStaleFileFromAKilledServer(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ticks, err := startTicks(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	info := self(t)
	info.PID, info.StartTicks = cmd.Process.Pid, ticks
	if err := Write(dir, info); err != nil {
		t.Fatal(err)
	}
	if _, err := Find(dir); err != nil {
		t.Fatalf("while the server runs, Find = %v", err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if _, err := Find(dir); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("after the kill, Find = %v, want ErrNotRunning", err)
	}
	if _, err := os.Stat(filepath.Join(dir, FileName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the stale file is still there: %v", err)
	}
}

// A pid reused by another process is told apart by its start time.
func TestReusedPID(t *testing.T) {
	dir := t.TempDir()
	info := self(t)
	info.StartTicks++ // this pid, but not the process that wrote the file
	if err := Write(dir, info); err != nil {
		t.Fatal(err)
	}
	if _, err := Find(dir); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("Find = %v, want ErrNotRunning", err)
	}
}

func TestUntrustedFiles(t *testing.T) {
	t.Run("open to others", func(t *testing.T) {
		dir := t.TempDir()
		if err := Write(dir, self(t)); err != nil {
			t.Fatal(err)
		}
		os.Chmod(filepath.Join(dir, FileName), 0o644)
		if _, err := Find(dir); !errors.Is(err, ErrUnsafe) {
			t.Fatalf("Find = %v, want ErrUnsafe", err)
		}
	})
	t.Run("symlink", func(t *testing.T) {
		dir, elsewhere := t.TempDir(), t.TempDir()
		if err := Write(elsewhere, self(t)); err != nil {
			t.Fatal(err)
		}
		os.Symlink(filepath.Join(elsewhere, FileName), filepath.Join(dir, FileName))
		if _, err := Find(dir); !errors.Is(err, ErrUnsafe) {
			t.Fatalf("Find = %v, want ErrUnsafe", err)
		}
	})
	t.Run("state dir writable by others", func(t *testing.T) {
		dir := t.TempDir()
		if err := Write(dir, self(t)); err != nil {
			t.Fatal(err)
		}
		os.Chmod(dir, 0o777)
		if _, err := Find(dir); !errors.Is(err, ErrUnsafe) {
			t.Fatalf("Find = %v, want ErrUnsafe", err)
		}
	})
	t.Run("malformed", func(t *testing.T) {
		dir := t.TempDir()
		for _, body := range []string{`{`, `{"pid":1,"token":"x","url":"http://127.0.0.1:1"}`, `{"pid":1,"token":"relay-local-x","url":"http://example.com:80"}`} {
			os.WriteFile(filepath.Join(dir, FileName), []byte(body), 0o600)
			if _, err := Find(dir); !errors.Is(err, ErrUnsafe) {
				t.Errorf("Find(%s) = %v, want ErrUnsafe", body, err)
			}
		}
	})
	t.Run("another user's file", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("needs root to give the file away")
		}
		dir := t.TempDir()
		if err := Write(dir, self(t)); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(filepath.Join(dir, FileName), 65534, 65534); err != nil {
			t.Fatal(err)
		}
		if _, err := Find(dir); !errors.Is(err, ErrUnsafe) {
			t.Fatalf("Find = %v, want ErrUnsafe", err)
		}
	})
}

// Two servers with their own state directories do not see each other.
func TestTwoStateDirs(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	ia, ib := self(t), self(t)
	ib.URL = "http://127.0.0.1:9999"
	if err := Write(a, ia); err != nil {
		t.Fatal(err)
	}
	if err := Write(b, ib); err != nil {
		t.Fatal(err)
	}
	ga, _ := Find(a)
	gb, _ := Find(b)
	if ga.Token != ia.Token || gb.Token != ib.Token || gb.URL != ib.URL {
		t.Fatalf("Find(a) = %+v, Find(b) = %+v", ga, gb)
	}
}
