package logs

import (
	"cmp"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// logBackgroundWriter writes buffers on a goroutine of its own, a handful
// at a time, so that the caller makes the next records while the last ones
// are written (to a pipe, a write waits for its reader).
type logBackgroundWriter struct {
	todo    chan [][]byte
	done    chan logWritten
	writing bool // buffers are with the goroutine
	err     error
}

type logWritten struct {
	bufs [][]byte
	err  error
}

func newLogBackgroundWriter(w io.Writer) *logBackgroundWriter {
	bg := &logBackgroundWriter{todo: make(chan [][]byte), done: make(chan logWritten, 1)}
	go func() {
		defer close(bg.done)
		for bufs := range bg.todo {
			bg.done <- logWritten{bufs, logWriteAll(w, bufs)}
		}
	}()
	return bg
}

// write waits for the previous buffers to be written, and hands bufs over:
// it returns the previous ones, for the caller to fill next, and the first
// error of a write so far (bufs are not written after one).
func (bg *logBackgroundWriter) write(bufs [][]byte) ([][]byte, error) {
	written := bg.wait()
	if bg.err != nil {
		return bufs, bg.err
	}
	bg.todo <- bufs
	bg.writing = true
	return written, nil
}

// wait waits for the buffers being written, and returns them.
func (bg *logBackgroundWriter) wait() [][]byte {
	if !bg.writing {
		return nil
	}
	w := <-bg.done
	bg.writing = false
	bg.err = cmp.Or(bg.err, w.err)
	return w.bufs
}

// stop waits for the last write, and ends the goroutine.
func (bg *logBackgroundWriter) stop() error {
	bg.wait()
	close(bg.todo)
	<-bg.done
	return bg.err
}

// logWriteAll writes bufs in order: to a file with writev(2), as few
// system calls as it takes, else with a Write each.
func logWriteAll(w io.Writer, bufs [][]byte) error {
	f, ok := w.(*os.File)
	if !ok {
		for _, b := range bufs {
			if _, err := w.Write(b); err != nil {
				return err
			}
		}
		return nil
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	// The slices left to write: copies, not to cut the caller's.
	iov := make([][]byte, 0, min(len(bufs), logsMaxIOV))
	for len(bufs) > 0 {
		iov = iov[:0]
		for len(iov) < logsMaxIOV && len(bufs) > 0 {
			if len(bufs[0]) > 0 {
				iov = append(iov, bufs[0])
			}
			bufs = bufs[1:]
		}
		for len(iov) > 0 {
			var n int
			var werr error
			if err := rc.Write(func(fd uintptr) bool {
				n, werr = unix.Writev(int(fd), iov)
				return werr != unix.EAGAIN
			}); err != nil {
				werr = err
			}
			switch {
			case werr == unix.EINTR:
				continue
			case werr == unix.EPIPE:
				// As os.File.Write: on standard output, the process
				// gets the SIGPIPE a program in a pipeline expects.
				_, err := f.Write(iov[0])
				return err
			case werr != nil:
				return &os.PathError{Op: "write", Path: f.Name(), Err: werr}
			case n == 0:
				return io.ErrShortWrite
			}
			for n > 0 {
				if n < len(iov[0]) {
					iov[0] = iov[0][n:]
					break
				}
				n -= len(iov[0])
				iov = iov[1:]
			}
		}
	}
	return nil
}

// logsMaxIOV is how many buffers a writev(2) takes (IOV_MAX).
const logsMaxIOV = 1024
