package image_test

import (
	"bufio"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/podkit/podkit/image"
	"github.com/podkit/podkit/image/imagetest"
	"github.com/podkit/podkit/internal/testenv"
	"github.com/podkit/podkit/pod"
	"github.com/podkit/podkit/pod/podtest"
)

// debianRootfs returns the Debian tree with redis-server from the cache,
// or builds it with mmdebstrap when missing (root, network).
func debianRootfs(t *testing.T) string {
	t.Helper()
	testenv.RequireRoot(t)
	dir, err := imagetest.CacheDir()
	require.NoError(t, err)
	if _, err := os.Stat(filepath.Join(dir, imagetest.DebianRedisName)); errors.Is(err, fs.ErrNotExist) {
		testenv.RequireTool(t, "mmdebstrap")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	p, err := imagetest.DebianRedis(ctx)
	require.NoError(t, err)
	return p
}

// A real Debian image (mmdebstrap's minbase with redis-server, imported
// with redis-server as its command, as the official redis image has it)
// runs a real redis-server in a pod: it answers PING through the pod's
// network and to redis-cli run inside by Exec. The same tree imported
// with the user "redis" runs as the uid the image's /etc/passwd gives.
func TestDebianRedis(t *testing.T) {
	tarball := debianRootfs(t)
	s := open(t)
	ctx := context.Background()
	env := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	for ref, user := range map[string]string{"example.com/debian/redis:bookworm": "", "example.com/debian/redis:bookworm-user": "redis"} {
		f, err := os.Open(tarball)
		require.NoError(t, err)
		_, err = s.Import(ctx, f, ref, image.ImportConfig{Cmd: []string{"redis-server"}, Env: env, User: user})
		f.Close()
		require.NoError(t, err, ref)
	}
	uid := passwdUID(t, filepath.Join(lookup(t, s, "example.com/debian/redis:bookworm").Layers[0], "etc/passwd"), "redis")

	var ids podtest.Buffer
	p := podtest.Start(t, "debian-redis", pod.Spec{Containers: []pod.Container{
		{
			Name: "redis", Image: "example.com/debian/redis:bookworm", ImagePullPolicy: pod.PullNever,
			// Args replace the image's Cmd, as a pod's args replace the
			// official image's.
			Args: []string{"redis-server", "--protected-mode", "no", "--port", "6379", "--save", ""},
		},
		{
			Name: "user", Image: "example.com/debian/redis:bookworm-user", ImagePullPolicy: pod.PullNever,
			Command: []string{"sh", "-c", "id -un; id -u; exec sleep infinity"}, Stdout: &ids,
		},
	}}, pod.WithImages(s))

	require.Eventually(t, func() bool { return ping(ctx, p) == "+PONG" }, 30*time.Second, 50*time.Millisecond,
		"redis-server in the pod does not answer PING")

	var out strings.Builder
	cmd := exec.Command("redis-cli", "ping")
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, p.Exec(ctx, "redis", cmd), out.String())
	assert.Equal(t, "PONG\n", out.String())

	require.Eventually(t, func() bool { return strings.Count(ids.String(), "\n") >= 2 }, 10*time.Second, 20*time.Millisecond)
	assert.Equal(t, "redis\n"+uid+"\n", ids.String())
}

// ping sends PING to redis-server on the pod's 127.0.0.1:6379 and returns
// its first line of answer, or "" when it does not answer.
func ping(ctx context.Context, p *pod.Pod) string {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	c, err := p.DialContext(ctx, "tcp", "127.0.0.1:6379")
	if err != nil {
		return ""
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return ""
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return ""
	}
	return strings.TrimRight(line, "\r\n")
}

// passwdUID returns the uid of user in the passwd file at path.
func passwdUID(t *testing.T, path, user string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Split(line, ":")
		if len(f) > 2 && f[0] == user {
			return f[2]
		}
	}
	t.Fatalf("%s has no user %q", path, user)
	return ""
}
