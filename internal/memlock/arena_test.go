package memlock

import (
	"bytes"
	"errors"
	"sync"
	"testing"
)

func newTestArena(t *testing.T, slots int) *Arena {
	t.Helper()
	a, err := NewArena(slots)
	if err != nil {
		t.Fatalf("NewArena: %v", err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return a
}

func regionIsZero(a *Arena) bool {
	zero := true
	a.Inspect(func(r []byte) {
		zero = r != nil && allZero(r)
	})
	return zero
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func TestAllocFreeZeroesSlot(t *testing.T) {
	a := newTestArena(t, 4)
	k, err := a.Alloc()
	if err != nil {
		t.Fatal(err)
	}
	b := k.Bytes()
	if len(b) != SlotSize || cap(b) != SlotSize {
		t.Fatalf("slot len %d cap %d, want %d", len(b), cap(b), SlotSize)
	}
	if !allZero(b) {
		t.Fatal("fresh slot not zero")
	}
	for i := range b {
		b[i] = 0xA5
	}
	if regionIsZero(a) {
		t.Fatal("write to the slot did not reach the region")
	}
	if a.InUse() != 1 {
		t.Fatalf("InUse = %d, want 1", a.InUse())
	}
	k.Free()
	if !allZero(b) { // b still points into the mapped region
		t.Fatal("Free did not zero the slot")
	}
	if !regionIsZero(a) {
		t.Fatal("region not zero after Free")
	}
	if k.Bytes() != nil {
		t.Fatal("Bytes after Free must be nil")
	}
	k.Free() // double free is a no-op
	if a.InUse() != 0 {
		t.Fatalf("InUse = %d after double Free, want 0", a.InUse())
	}
}

func TestFullAndReuse(t *testing.T) {
	a := newTestArena(t, 3)
	var keys []*Key
	for range 3 {
		k, err := a.Alloc()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	if _, err := a.Alloc(); !errors.Is(err, ErrFull) {
		t.Fatalf("4th Alloc: %v, want ErrFull", err)
	}
	keys[1].Free()
	k, err := a.Alloc()
	if err != nil {
		t.Fatalf("Alloc after Free: %v", err)
	}
	if k.off != keys[1].off {
		t.Fatalf("freed slot %d not reused (got %d)", keys[1].off, k.off)
	}
	// Distinct slots never overlap.
	seen := map[int]bool{}
	for _, k := range []*Key{keys[0], k, keys[2]} {
		if seen[k.off] {
			t.Fatalf("slot %d handed out twice", k.off)
		}
		seen[k.off] = true
	}
}

func TestSlotsRange(t *testing.T) {
	if _, err := NewArena(MaxSlots + 1); !errors.Is(err, ErrSlots) {
		t.Fatalf("NewArena(MaxSlots+1): %v, want ErrSlots", err)
	}
	a := newTestArena(t, 0)
	if s := a.Status(); s.Slots != DefaultSlots || s.Bytes != 64<<10 {
		t.Fatalf("default arena: %d slots, %d bytes; want %d, 64 KiB", s.Slots, s.Bytes, DefaultSlots)
	}
}

func TestCloseZeroesBeforeUnmap(t *testing.T) {
	a := newTestArena(t, 8)
	k, _ := a.Alloc()
	copy(k.Bytes(), bytes.Repeat([]byte{0xFF}, SlotSize))
	real := a.unmap
	checked := false
	a.unmap = func(m mapping) error {
		checked = true
		if !allZero(m.region) {
			t.Error("region not zero when unmapped")
		}
		return real(m)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if !checked {
		t.Fatal("Close did not unmap")
	}
	if k.Bytes() != nil {
		t.Fatal("Bytes after Close must be nil")
	}
	if _, err := a.Alloc(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Alloc after Close: %v, want ErrClosed", err)
	}
	k.Free() // must not touch unmapped memory
	if err := a.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	a.Inspect(func(r []byte) {
		if r != nil {
			t.Error("Inspect after Close must see nil")
		}
	})
}

// Under -race: slots are handed out once, writes do not collide, and every
// slot is zero at the end.
func TestConcurrentAllocFree(t *testing.T) {
	a := newTestArena(t, 64)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				k, err := a.Alloc()
				if err != nil {
					t.Error(err)
					return
				}
				b := k.Bytes()
				mark := byte(g*31 + i%7 + 1)
				for j := range b {
					b[j] = mark
				}
				for j := range b {
					if b[j] != mark {
						t.Errorf("slot shared between goroutines")
						return
					}
				}
				k.Free()
			}
		})
	}
	wg.Wait()
	if a.InUse() != 0 || !regionIsZero(a) {
		t.Fatalf("after all frees: InUse %d, zero %v", a.InUse(), regionIsZero(a))
	}
}
