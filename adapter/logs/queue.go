package logs

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
// With recycle, the queue also keeps the read buffers of logFollowReader,
// whose lines are views of them (see putRead): a buffer goes back to the
// reader once the parser is done with the lines it took, when it takes
// again. Copying each read into a new string made as much garbage as there
// was input, and the garbage collector took a fifth of the passthrough's
// time.
//
// One goroutine puts and closes, another takes and stops.
type logQueue struct {
	mu      sync.Mutex
	lines   []Line // put, not yet taken
	bytes   int    // of their texts
	waiting bool   // the parser waits on ready
	full    bool   // the input waits on taken
	closed  bool   // the input has ended
	stopped bool   // the parser has gone: put fails
	ready   chan struct{}
	taken   chan struct{}

	// recycle is set before the input starts: the parser's output keeps
	// no text once a batch is written (a logWriterSink's does not).
	recycle bool
	// help, when set, makes records of the batch being written: put
	// calls it instead of idling while the queue is full (a goroutine
	// woken up on an idle processor takes a tenth of a millisecond to run
	// on a virtual machine).
	help  func()
	bufs  [][]byte // the read buffers of the lines put
	inUse [][]byte // of the lines taken
	free  [][]byte
}

// The queue holds at most about this many lines or bytes (plus one read):
// past either, put waits for the parser.
const (
	logsQueueLines = 4096
	logsQueueBytes = 256 << 10
	// logsFreeBufs bounds the read buffers kept for reuse: as many as
	// the queue and a batch hold at most.
	logsFreeBufs = 2*logsQueueBytes/logsReadBuf + 4
)

func newLogQueue() *logQueue {
	return &logQueue{ready: make(chan struct{}, 1), taken: make(chan struct{}, 1)}
}

// put appends lines to the queue (it copies them: the caller may reuse
// the slice). It waits while the queue is full, and returns errLogsStopped
// once the parser has gone.
func (q *logQueue) put(lines ...Line) error {
	return q.putRead(nil, lines)
}

// putRead is put for lines whose texts may be views of buf, a buffer of
// readBuf's: the queue keeps it until the parser is done with them, and
// the caller must not write to it any more.
func (q *logQueue) putRead(buf []byte, lines []Line) error {
	if len(lines) == 0 {
		return nil
	}
	q.mu.Lock()
	for !q.stopped && (len(q.lines) >= logsQueueLines || q.bytes >= logsQueueBytes) {
		q.full = true
		q.mu.Unlock()
		if q.help != nil {
			q.help()
		}
		<-q.taken
		q.mu.Lock()
	}
	if q.stopped {
		q.mu.Unlock()
		return errLogsStopped
	}
	q.lines = append(q.lines, lines...)
	if buf != nil {
		q.bufs = append(q.bufs, buf)
	}
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

// readBuf returns a buffer of logsReadBuf bytes to read into: a free one,
// or a new one.
func (q *logQueue) readBuf() []byte {
	q.mu.Lock()
	defer q.mu.Unlock()
	if n := len(q.free); n > 0 {
		b := q.free[n-1]
		q.free[n-1] = nil
		q.free = q.free[:n-1]
		return b
	}
	return make([]byte, logsReadBuf)
}

// close tells the parser that no line will come.
func (q *logQueue) close() { q.mark(&q.closed, &q.waiting, q.ready) }

// take returns the lines put since the last take, in buf's place: buf is
// the slice the previous take returned, given back for reuse. With no line
// to return, it reports whether the queue is closed; if it is not, the
// parser must wait on q.ready (or for other work) before it takes again.
func (q *logQueue) take(buf []Line) (lines []Line, closed bool) {
	clear(buf) // the texts are garbage once parsed
	q.mu.Lock()
	defer q.mu.Unlock()
	// The lines taken last are done with: their buffers are free.
	for _, b := range q.inUse {
		if len(q.free) < logsFreeBufs {
			q.free = append(q.free, b)
		}
	}
	clear(q.inUse)
	q.inUse = q.inUse[:0]
	if len(q.lines) == 0 {
		q.waiting = !q.closed
		return buf[:0], q.closed
	}
	lines, q.lines, q.bytes = q.lines, buf[:0], 0
	q.inUse, q.bufs = q.bufs, q.inUse
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
