package pod

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestBackoffSequence(t *testing.T) {
	b := Backoff{}.withDefaults()
	var s backoffState
	var got []time.Duration
	for range 8 {
		got = append(got, s.next(b, time.Second))
	}
	want := []time.Duration{0, 10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second,
		160 * time.Second, 300 * time.Second, 300 * time.Second}
	assert.Equal(t, want, got)
	assert.Equal(t, time.Duration(0), s.next(b, 10*time.Minute), "a run of 10 minutes resets the back-off")
	assert.Equal(t, 10*time.Second, s.next(b, time.Second))
}

func TestLogBufferBound(t *testing.T) {
	b := newLogBuffer(100)
	for i := range 50 {
		b.add(LogEntry{Text: fmt.Sprintf("line-%03d", i)}) // 8 bytes each
	}
	all := b.tail(0)
	assert.Len(t, all, 12, "100 bytes hold 12 lines of 8")
	assert.Equal(t, "line-049", all[len(all)-1].Text)
	assert.Equal(t, "line-038", all[0].Text)
	assert.Len(t, b.tail(3), 3)
	assert.LessOrEqual(t, cap(b.entries), 64, "the buffer compacts")
}

func TestRestartPolicyDecision(t *testing.T) {
	for _, tt := range []struct {
		p    RestartPolicy
		code int
		want bool
	}{
		{RestartAlways, 0, true}, {RestartAlways, 1, true},
		{RestartOnFailure, 0, false}, {RestartOnFailure, 137, true},
		{RestartNever, 0, false}, {RestartNever, 1, false},
	} {
		assert.Equal(t, tt.want, tt.p.shouldRestart(tt.code), "%s/%d", tt.p, tt.code)
	}
}

// TestReachesOwnListener is the check a published port's proxy makes
// before each dial: in the listener's network namespace, an upstream
// address that is the listener's own is refused.
func TestReachesOwnListener(t *testing.T) {
	lo := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 18090}
	any := &net.TCPAddr{IP: net.IPv4zero, Port: 18090}
	assert.True(t, reaches("127.0.0.1:18090", lo))
	assert.True(t, reaches("127.0.0.1:18090", any))
	assert.True(t, reaches("10.0.0.1:18090", any))
	assert.False(t, reaches("127.0.0.1:18091", lo))
	assert.False(t, reaches("10.0.0.1:18090", lo))
	assert.False(t, reaches("not an address", lo))
}
