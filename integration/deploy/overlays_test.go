package deploy_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestOverlaysPerCloud renders each overlay under deploy/overlays with the real kustomize (every
// object's dry-run is TestManifestsPassServerSideDryRun's) and checks what it adds to the base: the
// cloud, the cloud config mounted where --cloud-config points, the identity placeholder.
func TestOverlaysPerCloud(t *testing.T) {
	waitForBootstrap(t)
	overlays := filepath.Join(deployDir, "overlays")
	shared := &cloudConfigSource{"Secret", "cloudlb-cloud-config", "cloud.conf"}
	// overlay is a directory of deploy/overlays and what its rendering must have. clusterName
	// says whether it passes --cluster-name: the aws and gce overlays leave the cluster identity
	// to discovery (the cloud config, the instance's tags, ConfigMap kube-system/ingress-uid),
	// azure has none to discover.
	type overlayCase struct {
		overlay     string
		want        controllerManagerWant
		clusterName bool
	}
	tests := []overlayCase{
		{"aws", controllerManagerWant{cloud: "aws", config: shared, saAnnotation: "eks.amazonaws.com/role-arn"}, false},
		{"azure", controllerManagerWant{cloud: "azure", config: &cloudConfigSource{"Secret", "azure-cloud-provider", "cloud-config"},
			saAnnotation: "azure.workload.identity/client-id", podLabels: map[string]string{"azure.workload.identity/use": "true"}}, true},
		{"gce", controllerManagerWant{cloud: "gce", config: shared, saAnnotation: "iam.gke.io/gcp-service-account"}, false},
		// The fake cloud needs no config and no identity; TestBinaryRunsUnderShippedRBAC runs it.
		{"demo", controllerManagerWant{cloud: "fake", args: []string{"--cluster-name=kubernetes"}}, true},
	}
	entries, err := os.ReadDir(overlays)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !slices.ContainsFunc(tests, func(tc overlayCase) bool { return tc.overlay == e.Name() }) {
			t.Errorf("overlay %s has no case here", e.Name())
		}
	}
	for _, tc := range tests {
		t.Run(tc.overlay, func(t *testing.T) {
			t.Parallel()
			_, ms := kustomizeBuild(t, filepath.Join(overlays, tc.overlay))
			checkControllerManager(t, ms, tc.want)
			if _, ok := flagValue(onlyDeployment(t, ms).Spec.Template.Spec.Containers[0].Args, "cluster-name"); ok != tc.clusterName {
				t.Errorf("--cluster-name given: %v, want %v (an overlay passes it only where no identity is discovered)", ok, tc.clusterName)
			}
		})
	}
}
