package engine

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/inference-relay/relay/internal/content"
	"github.com/inference-relay/relay/internal/engine/child/ipc"
	"github.com/inference-relay/relay/internal/engine/enginetest"
	"github.com/inference-relay/relay/internal/gguf"
	"github.com/inference-relay/relay/internal/logic"
	"github.com/inference-relay/relay/internal/provider"
	"github.com/inference-relay/relay/internal/sandbox"
	"github.com/inference-relay/relay/internal/weights"
)

func TestGenerateThroughChild(t *testing.T) {
	m := tinyModel(t, "tiny", gguf.TinyOptions{})
	p := newProvider(t, 0, m)

	if names, _ := p.Models(context.Background()); len(names) != 1 || names[0] != "tiny" {
		t.Fatalf("Models = %v", names)
	}

	t.Run("same seed same tokens", func(t *testing.T) {
		a, sa := run(t, p, "tiny", params(16, 0.9, 42), request("hello"))
		b, sb := run(t, p, "tiny", params(16, 0.9, 42), request("hello"))
		if a == "" || a != b || sa != sb {
			t.Fatalf("runs differ or empty: %q %+v / %q %+v", a, sa, b, sb)
		}
	})

	t.Run("streamed equals collected, usage from the child", func(t *testing.T) {
		streamed, st := run(t, p, "tiny", params(12, 0, 1), request("count"))
		lp := params(12, 0, 1)
		lp.Stream = false
		s, err := p.Stream(context.Background(), logic.Target{Model: "tiny"}, lp, request("count"))
		if err != nil {
			t.Fatal(err)
		}
		msg, st2, err := provider.Collect(s)
		if err != nil {
			t.Fatal(err)
		}
		if len(msg.Parts) != 1 || string(msg.Parts[0].Text.Bytes()) != streamed {
			t.Fatalf("collected differs from streamed %q", streamed)
		}
		// The end-token weight keeps the tiny model talking: the cap ends it.
		if st.Stop != logic.StopMaxTokens || st.Usage.Output != 12 || st.Usage.Input <= 0 || st2.Usage != st.Usage || st.Model != "tiny" {
			t.Fatalf("status %+v / %+v", st, st2)
		}
		// A longer prompt counts more input tokens.
		_, st3 := run(t, p, "tiny", params(1, 0, 1), request("count count count count"))
		if st3.Usage.Input <= st.Usage.Input || st3.Usage.Output != 1 {
			t.Fatalf("input tokens did not grow: %+v vs %+v", st3.Usage, st.Usage)
		}
	})

	t.Run("stop sequences", func(t *testing.T) {
		full, _ := run(t, p, "tiny", params(24, 0, 1), request("stop"))
		if len(full) < 8 {
			t.Skipf("completion too short to cut: %d bytes", len(full))
		}
		stop := full[len(full)/2 : len(full)/2+3]
		r := request("stop")
		r.Stop = []content.Text{content.FromString("\x01never\x02"), content.FromString(stop)}
		cut, st := run(t, p, "tiny", params(24, 0, 1), r)
		if want := full[:strings.Index(full, stop)]; cut != want {
			t.Fatalf("cut %q, want %q", cut, want)
		}
		if st.Stop != logic.StopSequence || st.StopSequence != 2 {
			t.Fatalf("status %+v", st)
		}
	})

	t.Run("context length is a 400 with the numbers", func(t *testing.T) {
		_, err := p.Stream(context.Background(), logic.Target{Model: "tiny"}, params(100000, 0, 1), request("x"))
		pe := provider.AsError(err)
		if pe == nil || pe.Class != logic.ErrInvalidRequest || !strings.Contains(string(pe.Detail.Bytes()), "512") {
			t.Fatalf("err %v", err)
		}
	})

	t.Run("refusals", func(t *testing.T) {
		if _, err := p.Stream(context.Background(), logic.Target{Model: "nope"}, params(1, 0, 1), request("x")); class(err) != logic.ErrNotFound {
			t.Fatalf("unknown model: %v", err)
		}
		r := request("x")
		r.Tools = []content.Tool{{Name: content.FromString("f"), Schema: content.FromString(`{"type": "object", "properties": {"a": {"type": "string", "$ref": "#/x"}}}`)}}
		_, err := p.Stream(context.Background(), logic.Target{Model: "tiny"}, params(1, 0, 1), r)
		if pe := provider.AsError(err); pe == nil || pe.Class != logic.ErrInvalidRequest || !strings.Contains(string(pe.Detail.Bytes()), `tools[0]: the keyword "$ref"`) {
			t.Fatalf("unsupported schema: %v", err)
		}
	})

	t.Run("sessions own their context", func(t *testing.T) {
		lp := params(4, 0, 1)
		lp.Session = "s1"
		run(t, p, "tiny", lp, request("remember"))
		st, err := p.Stats(context.Background())
		if err != nil || st.Sessions != 1 {
			t.Fatalf("stats %+v %v", st, err)
		}
		if err := p.EndSession(context.Background(), "s1"); err != nil {
			t.Fatal(err)
		}
		st2, err := p.Stats(context.Background())
		if err != nil || st2.Sessions != 0 || st2.Cleared <= st.Cleared {
			t.Fatalf("after EndSession: %+v %v", st2, err)
		}
	})

	t.Run("no network in the child", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
		f, err := p.cur.roundTrip(context.Background(), ipc.TProbe, ipc.EncodeString(ln.Addr().String()))
		if err != nil {
			t.Fatal(err)
		}
		res, err := ipc.DecodeError(f.Payload)
		if err != nil {
			t.Fatal(err)
		}
		if res.Code == ipc.CodeOK {
			t.Fatal("the engine child reached a loopback listener of the relay's network")
		}
		// Control: the same dial from here works.
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatalf("control dial: %v", err)
		}
		c.Close()
	})

	t.Run("no filesystem beyond what it was given", func(t *testing.T) {
		outside := filepath.Join(t.TempDir(), "outside")
		if err := os.WriteFile(outside, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		for path, want := range map[string]bool{
			outside:                                false, // a file the relay can read
			"/etc/passwd":                          false,
			filepath.Join(libDir(t), "SHA256SUMS"): true, // its own libraries
		} {
			f, err := p.cur.roundTrip(context.Background(), ipc.TProbe, ipc.EncodeString("file:"+path))
			if err != nil {
				t.Fatal(err)
			}
			res, err := ipc.DecodeError(f.Payload)
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Code == ipc.CodeOK; got != want {
				t.Errorf("engine child reading %s: %v, want %v", path, got, want)
			}
		}
		if _, err := os.ReadFile(outside); err != nil {
			t.Fatalf("control read: %v", err)
		}
	})

	t.Run("content never in argv or environ", func(t *testing.T) {
		const canary = "CANARY-engine-argv-5e1d"
		s, err := p.Stream(context.Background(), logic.Target{Model: "tiny"}, params(64, 0, 1), request(canary))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		pid := strconv.Itoa(p.Pid())
		for _, f := range []string{"cmdline", "environ"} {
			b, err := os.ReadFile(filepath.Join("/proc", pid, f))
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if bytes.Contains(b, []byte(canary)) {
				t.Fatalf("content in the child's %s", f)
			}
			if f == "environ" && len(b) != 0 {
				t.Fatalf("the child has an environment of %d bytes", len(b))
			}
			if f == "cmdline" && !bytes.Contains(b, []byte("engine\x00--lib-dir\x00")) {
				t.Fatalf("unexpected argv %q", b)
			}
		}
	})

	t.Run("restart kills the child", func(t *testing.T) {
		old := p.Pid()
		if err := p.Restart(); err != nil {
			t.Fatal(err)
		}
		if p.Pid() == old || p.Pid() == 0 {
			t.Fatalf("pid %d after restart of %d", p.Pid(), old)
		}
		if err := syscall.Kill(old, 0); err == nil {
			t.Fatal("the old child is still running")
		}
		if out, _ := run(t, p, "tiny", params(4, 0, 1), request("again")); out == "" {
			t.Fatal("no output after restart")
		}
	})
}

func TestCancelFreesContext(t *testing.T) {
	m := tinyModel(t, "long", gguf.TinyOptions{ContextLength: 8192})
	p := newProvider(t, 8192, m)
	before, err := p.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s, err := p.Stream(ctx, logic.Target{Model: "long"}, params(0, 0.9, 7), request("go on"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Recv(); err != nil {
		t.Fatal(err)
	}
	cancel()
	for {
		_, err := s.Recv()
		if err == io.EOF {
			t.Fatal("the generation finished before the cancel reached it")
		}
		if err != nil {
			if class(err) != logic.ErrCanceled {
				t.Fatalf("after cancel: %v", err)
			}
			break
		}
	}
	s.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := p.Stats(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if st.Busy == 0 && st.Cleared > before.Cleared && st.Pooled == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the canceled context was not cleared: %+v", st)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if out, st := run(t, p, "long", params(4, 0, 1), request("next")); out == "" || st.Usage.Output != 4 {
		t.Fatalf("next request: %q %+v", out, st)
	}
}

func TestChildDeathFailsStreamsAndRestarts(t *testing.T) {
	m := tinyModel(t, "long", gguf.TinyOptions{ContextLength: 8192})
	p := newProvider(t, 8192, m)
	s, err := p.Stream(context.Background(), logic.Target{Model: "long"}, params(0, 0.9, 7), request("go on"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	old := p.Pid()
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for {
		_, err := s.Recv()
		if err == io.EOF {
			t.Fatal("the stream ended normally although the child died")
		}
		if err != nil {
			if class(err) != logic.ErrUpstream {
				t.Fatalf("after the child died: %v", err)
			}
			break
		}
	}
	if out, _ := run(t, p, "long", params(4, 0, 1), request("next")); out == "" {
		t.Fatal("no output from the restarted child")
	}
	if p.Pid() == old {
		t.Fatal("the child was not restarted")
	}
}

func TestCorruptedWeightsNotServed(t *testing.T) {
	good := tinyModel(t, "good", gguf.TinyOptions{})
	path := filepath.Join(t.TempDir(), "bad.gguf")
	var buf bytes.Buffer
	if err := gguf.TinyLlama(&buf, 2, gguf.TinyOptions{}); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	want := weights.Model{Name: "bad", Path: path, Source: weights.SourceConfig}
	sum := sha256Hex(data)
	want.SHA256 = sum
	data[len(data)-10] ^= 0x40
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	rs := weights.Verify([]weights.Model{want}, weights.Options{})
	if rs[0].Status != weights.StatusMismatch {
		t.Fatalf("corrupted file verified: %+v", rs[0])
	}
	p := newProvider(t, 0, append([]weights.Model{good}, weights.Verified(rs)...)...)
	if names, _ := p.Models(context.Background()); len(names) != 1 || names[0] != "good" {
		t.Fatalf("Models = %v", names)
	}
	if _, err := p.Stream(context.Background(), logic.Target{Model: "bad"}, params(1, 0, 1), request("x")); class(err) != logic.ErrNotFound {
		t.Fatalf("the corrupted model was served: %v", err)
	}
}

func TestChangedLibraryRefused(t *testing.T) {
	dst := enginetest.CopyLibDir(t)
	lib := filepath.Join(dst, "libggml-base.so")
	b, err := os.ReadFile(lib)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 1
	if err := os.WriteFile(lib, b, 0o600); err != nil {
		t.Fatal(err)
	}
	sup := sandbox.NewSupervisor()
	defer sup.Close(time.Second)
	m := tinyModel(t, "tiny", gguf.TinyOptions{})
	_, err = New(Config{LibDir: dst, Models: []weights.Model{m}, Threads: 1, Supervisor: sup})
	if err == nil {
		t.Fatal("the engine started with a changed library")
	}
	if !errors.Is(err, ErrLibraries) || !strings.Contains(err.Error(), "refused to start") || !strings.Contains(err.Error(), "libggml-base.so") {
		t.Fatalf("unclear error: %v", err)
	}
	if len(sup.Children()) != 0 {
		t.Fatal("a refused child is still running")
	}
}
