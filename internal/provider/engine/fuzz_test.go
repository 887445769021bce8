package engine

import (
	"context"
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"github.com/inference-relay/relay/internal/engine/child/ipc"
	"github.com/inference-relay/relay/internal/gguf"
	"github.com/inference-relay/relay/internal/sandbox"
	"github.com/inference-relay/relay/internal/weights"
)

// live is one engine child shared by every input of FuzzLiveChild: started
// through the real sandbox, confined as in production.
var live struct {
	once sync.Once
	p    *Provider
	err  error
	dir  string
}

func liveProvider(t *testing.T) *Provider {
	t.Helper()
	lib := libDir(t)
	live.once.Do(func() {
		m := tinyModel(t, "tiny", gguf.TinyOptions{})
		// tinyModel's temp dir goes with the first test; the verified
		// descriptor stays open, which is all the provider needs.
		sup := sandbox.NewSupervisor()
		live.p, live.err = New(Config{LibDir: lib, Models: []weights.Model{m}, Threads: 1, ContextLength: 256, Supervisor: sup, StartTimeout: 30 * time.Second})
	})
	if live.err != nil {
		t.Fatalf("New: %v", live.err)
	}
	return live.p
}

// FuzzLiveChild feeds well-framed but arbitrary frames to a live engine
// child and checks that the same process is still there and answers a
// stats frame afterwards: a frame the child cannot serve gets an error
// frame, never the child's exit. (Probe frames are left out: they are a
// test facility that tries forbidden things on purpose.)
func FuzzLiveChild(f *testing.F) {
	g := ipc.Generate{ModelPath: "/proc/self/fd/4", MaxTokens: 2, Messages: []ipc.Message{{Role: "user", Content: []byte("x")}}}
	f.Add(uint8(ipc.TGenerate), g.Encode())
	big := ipc.Generate{ModelPath: "/proc/self/fd/4", MaxTokens: 1 << 31}
	f.Add(uint8(ipc.TGenerate), big.Encode())
	f.Add(uint8(ipc.TGenerate), []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	tools := []ipc.Tool{{Name: []byte("f"), Schema: []byte(`{"type": "object", "properties": {"a": {"enum": ["x", "\u0000"]}}, "required": ["a"]}`)}}
	named := ipc.Generate{ModelPath: "/proc/self/fd/4", MaxTokens: 4, Messages: g.Messages, Tools: tools, ToolChoice: ipc.ToolNamed, ToolName: []byte("f")}
	f.Add(uint8(ipc.TGenerate), named.Encode())
	for _, bad := range []ipc.Generate{
		{Tools: []ipc.Tool{{Name: []byte("n\x00"), Schema: []byte("{}")}}, ToolChoice: ipc.ToolRequired},
		{Tools: []ipc.Tool{{Name: []byte("f"), Schema: []byte(`{"pattern": "x"}`)}}},
		{Tools: []ipc.Tool{{Name: []byte("f"), Schema: []byte(`{"type": `)}}, ToolChoice: ipc.ToolNamed, ToolName: []byte("g")},
		{ToolChoice: ipc.ToolRequired},
		{Messages: []ipc.Message{{Role: "assistant", ToolCalls: []ipc.ToolCall{{Name: []byte("f"), Args: []byte("{\"a\": \"\x1f0\x1f\"}")}}}}},
	} {
		bad.ModelPath, bad.MaxTokens = "/proc/self/fd/4", 2
		if bad.Messages == nil {
			bad.Messages = g.Messages
		}
		f.Add(uint8(ipc.TGenerate), bad.Encode())
	}
	f.Add(uint8(ipc.TEndSession), []byte{0x05, 'a'})
	f.Add(uint8(ipc.TCancel), []byte(nil))
	f.Add(uint8(ipc.TStats), []byte{1, 2, 3})
	f.Add(uint8(200), []byte("unknown type"))
	f.Add(uint8(ipc.THello), binary.AppendUvarint(nil, 1))
	f.Fuzz(func(t *testing.T, typ uint8, payload []byte) {
		if ipc.Type(typ) == ipc.TProbe {
			typ = uint8(ipc.TStats)
		}
		p := liveProvider(t)
		pid := p.Pid()
		c := p.cur
		// Ids with the top bit set never collide with the provider's own.
		if err := c.send(ipc.Type(typ), 1<<31|uint32(len(payload)), payload); err != nil {
			t.Fatalf("send: %v", err)
		}
		// A generate it accepted is cancelled, so inputs do not pile up.
		_ = c.send(ipc.TCancel, 1<<31|uint32(len(payload)), nil)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if _, err := p.Stats(ctx); err != nil {
			t.Fatalf("stats after a %d frame of %d bytes: %v (stderr %q)", typ, len(payload), err, c.child.Stderr())
		}
		if p.Pid() != pid || !c.alive() {
			t.Fatalf("the child was replaced after a %d frame", typ)
		}
	})
}
