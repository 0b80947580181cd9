package adapter

import (
	"sync"
)

// logQueue hands the input's lines from the goroutine that reads them to
// the one that parses them, in batches: the parser takes every line put
// since it last took, so that a busy parser takes many lines at once, and a
// line put while the parser waits wakes it at once (a slow trickle of lines
// is not delayed). The input puts the lines of a whole read at once when it
// can. A handoff per line cost a futex wake-up per line.
//
// One goroutine puts and closes, another takes and stops.
type logQueue struct {
	mu      sync.Mutex
	lines   []LogLine // put, not yet taken
	bytes   int       // of their texts
	waiting bool      // the parser waits on ready
	full    bool      // the input waits on taken
	closed  bool      // the input has ended
	stopped bool      // the parser has gone: put fails
	ready   chan struct{}
	taken   chan struct{}
}

// The queue holds at most about this many lines or bytes (plus one read):
// past either, put waits for the parser.
const (
	logsQueueLines = 4096
	logsQueueBytes = 256 << 10
)

func newLogQueue() *logQueue {
	return &logQueue{ready: make(chan struct{}, 1), taken: make(chan struct{}, 1)}
}

// put appends lines to the queue (it copies them: the caller may reuse
// the slice). It waits while the queue is full, and returns errLogsStopped
// once the parser has gone.
func (q *logQueue) put(lines ...LogLine) error {
	if len(lines) == 0 {
		return nil
	}
	q.mu.Lock()
	for !q.stopped && (len(q.lines) >= logsQueueLines || q.bytes >= logsQueueBytes) {
		q.full = true
		q.mu.Unlock()
		<-q.taken
		q.mu.Lock()
	}
	if q.stopped {
		q.mu.Unlock()
		return errLogsStopped
	}
	q.lines = append(q.lines, lines...)
	for i := range lines {
		q.bytes += len(lines[i].Text)
	}
	wake := q.waiting
	q.waiting = false
	q.mu.Unlock()
	if wake {
		logSignal(q.ready)
	}
	return nil
}

// close tells the parser that no line will come.
func (q *logQueue) close() { q.mark(&q.closed, &q.waiting, q.ready) }

// take returns the lines put since the last take, in buf's place: buf is
// the slice the previous take returned, given back for reuse. With no line
// to return, it reports whether the queue is closed; if it is not, the
// parser must wait on q.ready (or for other work) before it takes again.
func (q *logQueue) take(buf []LogLine) (lines []LogLine, closed bool) {
	clear(buf) // the texts are garbage once parsed
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.lines) == 0 {
		q.waiting = !q.closed
		return buf[:0], q.closed
	}
	lines, q.lines, q.bytes = q.lines, buf[:0], 0
	if q.full {
		q.full = false
		logSignal(q.taken)
	}
	return lines, false
}

// stop tells the input that the parser has gone: put fails from now on.
func (q *logQueue) stop() { q.mark(&q.stopped, &q.full, q.taken) }

// mark sets flag, and signals c if the other side waits on it (waits).
func (q *logQueue) mark(flag, waits *bool, c chan struct{}) {
	q.mu.Lock()
	*flag = true
	wake := *waits
	*waits = false
	q.mu.Unlock()
	if wake {
		logSignal(c)
	}
}

// logSignal sends on a channel of capacity one without blocking: a signal
// already pending is enough.
func logSignal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}
