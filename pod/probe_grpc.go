package pod

import (
	"context"
	"fmt"
	"net"
	"strconv"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// grpcCheck calls grpc.health.v1.Health/Check from inside the pod's network
// namespace, on a connection of its own, as the kubelet does.
func (p *Pod) grpcCheck(ctx context.Context, host string, a *GRPCAction) error {
	addr := net.JoinHostPort(host, strconv.Itoa(a.Port))
	conn, err := grpc.NewClient("passthrough:///"+addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUserAgent(httpProbeKind.userAgent),
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			return p.DialContext(ctx, "tcp", addr)
		}))
	if err != nil {
		return fmt.Errorf("gRPC probe: %w", err)
	}
	defer conn.Close()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: a.Service})
	if err != nil {
		return fmt.Errorf("gRPC probe: %s: %w", addr, err)
	}
	if s := resp.GetStatus(); s != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("gRPC probe: service unhealthy (responded with %q)", s)
	}
	return nil
}
