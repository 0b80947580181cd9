// Command starter is exercise 1: start a process in namespaces of its own.
// Read README.md (or README.zh-CN.md) next to this directory, do the TODOs
// in order, then check your work as root:
//
//	go run ./exercises/check 1
//
// Run it on its own with: go run ./exercises/01-namespaces/starter
package main

import (
	"context"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/podkit/podkit/exercises/internal/lab"
)

// script is what the child runs. It renames its host only if its UTS
// namespace is positively not this program's (PARENT_UTS, set by run), so
// that a missing namespace can never rename the machine.
const script = `me=$(readlink /proc/self/ns/uts)
if [ -n "$me" ] && [ -n "$PARENT_UTS" ] && [ "$me" != "$PARENT_UTS" ]; then
  hostname ex1
else
  echo "no UTS namespace of my own: I leave the host's name alone"
fi
echo "hostname=$(hostname) pid=$$ interfaces=$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | tr '\n' ' ')"
exec sleep 1000`

func main() {
	lab.Main(10*time.Second, run)
}

// run starts the child, prints its host PID, and waits; when ctx is done
// the child is killed.
func run(ctx context.Context, out *lab.Out) error {
	cmd := exec.CommandContext(ctx, "sh", "-c", script)
	parentUTS, _ := os.Readlink("/proc/self/ns/uts") // empty on error: no renaming
	cmd.Env = append(os.Environ(), "PARENT_UTS="+parentUTS)
	cmd.Stdout = out.Prefix("child")
	cmd.Stderr = out.Prefix("child")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// Cloneflags are the flags of the clone(2) call that creates the
		// child: each CLONE_NEW... flag gives it a new namespace of one
		// kind. OR them together: syscall.CLONE_NEWUTS | syscall.CLONE_NEWPID.
		//
		// TODO(1): a UTS namespace (CLONE_NEWUTS), so that the child can
		// set its own hostname ("ex1") without renaming the host.
		// TODO(2): a PID namespace (CLONE_NEWPID), in which the child is
		// PID 1 and sees none of the host's processes by number.
		// TODO(3): a network namespace (CLONE_NEWNET), with nothing but a
		// loopback interface of its own.
		// TODO(4): an IPC namespace (CLONE_NEWIPC), for its own System V
		// shared memory, semaphores and message queues.
		Cloneflags: 0,
		// If this program dies, the kernel kills the child.
		Pdeathsig: syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	out.PID("child", cmd.Process.Pid)
	err := cmd.Wait()
	if ctx.Err() != nil {
		return nil // killed because the program stops: the expected end
	}
	return err
}
