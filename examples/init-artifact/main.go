// Command init-artifact is the course's "WAR file and Tomcat" example
// without Java: an init container unpacks a site archive into an emptyDir
// volume, and only then does the web server container start and serve it.
// The server listens on the pod's loopback; a published port brings it to
// the host.
//
//	sudo go run ./examples/init-artifact [-duration 10s]
//
// It prints the page it fetches through the published port, and what to
// try, and runs until Ctrl-C (or for -duration). The same pod is
// examples/init-artifact/pod.yaml (podkit run -f, from the repository's
// root), and kubernetes.yaml is what it becomes on Kubernetes.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"github.com/podkit/podkit/initcontainer"
	"github.com/podkit/podkit/pod"
)

func main() {
	duration := flag.Duration("duration", 0, "stop after this long (0: run until interrupted)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	if err := run(ctx, archivePath(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "init-artifact:", err)
		os.Exit(1)
	}
}

// archivePath is site.tar.gz next to this file.
func archivePath() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "site.tar.gz")
}

// run runs the pod until ctx is done, fetching the page once it is served.
func run(ctx context.Context, archive string, out io.Writer) error {
	unpack, err := initcontainer.Extract{Archive: archive, Volume: "www"}.Container("unpack")
	if err != nil {
		return err
	}
	p, err := pod.New("init-artifact", pod.Spec{
		Volumes:        []pod.Volume{{Name: "www", EmptyDir: &pod.EmptyDirVolume{}}},
		Ports:          []pod.Port{{ContainerPort: 8080}},
		InitContainers: []pod.Container{unpack},
		Containers: []pod.Container{{Name: "web",
			Command:      []string{"busybox", "httpd", "-f", "-p", "127.0.0.1:8080", "-h", "/mnt/site"},
			VolumeMounts: []pod.VolumeMount{{Name: "www", MountPath: "/mnt", ReadOnly: true}},
			ReadinessProbe: &pod.Probe{HTTPGet: &pod.HTTPGetAction{Path: "/", Port: 8080},
				Period: 200 * time.Millisecond}}},
	})
	if err != nil {
		return err
	}
	events := p.Subscribe(ctx)
	if err := p.Start(ctx); err != nil {
		return err
	}
	for ev := range events {
		if ev.Reason == pod.EventStarted || ev.Reason == pod.EventExited {
			fmt.Fprintf(out, "event | %-7s %-5s %s\n", ev.Reason, ev.Role, ev.Message)
		}
		if ev.Reason == pod.EventReady && ev.Container == "web" && ev.Ready {
			break
		}
	}
	if addr := p.PublishedAddrs(); len(addr) == 1 {
		page, err := fetch("http://" + addr[0] + "/")
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "GET http://%s/ -> %s", addr[0], page)
		fmt.Fprintf(out, "try: curl http://%s/\n     sudo podkit logs init-artifact -c unpack   (with podkit run -f examples/init-artifact/pod.yaml)\n", addr[0])
	}
	err = p.Wait()
	fmt.Fprintf(out, "pod init-artifact finished: phase %s\n", p.Status().Phase)
	if ctx.Err() != nil {
		return nil // stopped on request
	}
	return err
}

func fetch(url string) (string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return string(body), err
}
