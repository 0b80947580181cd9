package members_test

import (
	"fmt"

	"github.com/podkit/podkit/cmd/podkit/members"
	"github.com/podkit/podkit/pod"
)

// A manifest's container that runs a ready-made member becomes that
// member's in-process container, as podkit run runs it.
func ExampleInProcess() {
	c := pod.Container{
		Name:         "log-shipper",
		Command:      []string{"podkit", "sidecar", "log-shipper", "--volume", "logs", "--pattern", "*.log"},
		VolumeMounts: []pod.VolumeMount{{Name: "logs", MountPath: "/podkit/volumes/logs"}},
	}
	ip, warnings, ok, err := members.InProcess(c)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("a ready-made member:", ok)
	fmt.Println("in-process:", ip.Func != nil)
	fmt.Println("exports as: podkit", ip.ExportArgs)
	fmt.Println(warnings)

	_, _, ok, _ = members.InProcess(pod.Container{Name: "app", Command: []string{"nginx"}})
	fmt.Println("nginx is a ready-made member:", ok)
	// Output:
	// a ready-made member: true
	// in-process: true
	// exports as: podkit [sidecar log-shipper --volume=logs --pattern=*.log]
	// [container "log-shipper": volumeMounts: not needed in-process (volumes are found by name)]
	// nginx is a ready-made member: false
}
