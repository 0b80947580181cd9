// Command solution is the reference solution of exercise 1: it starts a
// shell in new UTS, PID, network and IPC namespaces, the way a container
// runtime starts a container's process, and keeps it running until the
// program stops.
//
//	sudo go run ./exercises/01-namespaces/solution [-duration 10s]
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

// run starts the child in its own namespaces, prints its host PID, and
// waits; when ctx is done the child is killed.
func run(ctx context.Context, out *lab.Out) error {
	cmd := exec.CommandContext(ctx, "sh", "-c", script)
	parentUTS, _ := os.Readlink("/proc/self/ns/uts") // empty on error: no renaming
	cmd.Env = append(os.Environ(), "PARENT_UTS="+parentUTS)
	cmd.Stdout = out.Prefix("child")
	cmd.Stderr = out.Prefix("child")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// Each flag gives the child a new namespace of one kind, made by
		// the clone(2) that creates it.
		Cloneflags: syscall.CLONE_NEWUTS | // its own hostname
			syscall.CLONE_NEWPID | // its own process numbers: it is PID 1
			syscall.CLONE_NEWNET | // its own network stack: only a loopback
			syscall.CLONE_NEWIPC, // its own System V IPC and POSIX queues
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
