package controlplane

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/cloudlb/cloudlb/internal/process"
)

const (
	// serviceAccountIssuer is the issuer (and API audience) of service account tokens.
	serviceAccountIssuer = "https://kubernetes.default.svc.cluster.local"
	// AdminUser is the user name of RESTConfig's identity, a member of system:masters.
	AdminUser = "admin"
	// UnprivilegedUser is the user name of UnprivilegedRESTConfig's identity, bound to no role.
	UnprivilegedUser = "nobody"
)

// credentials are the files and tokens kube-apiserver is started with.
type credentials struct {
	adminToken, nobodyToken string
	tokenFile               string // --token-auth-file
	saKeyFile, saPubFile    string // service account signing key and its public half
}

// writeCredentials generates the service account key pair and the static tokens in dir.
func writeCredentials(dir string) (*credentials, error) {
	c := &credentials{
		adminToken:  rand.Text(),
		nobodyToken: rand.Text(),
		tokenFile:   filepath.Join(dir, "tokens.csv"),
		saKeyFile:   filepath.Join(dir, "sa.key"),
		saPubFile:   filepath.Join(dir, "sa.pub"),
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generate service account key: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("marshal service account public key: %w", err)
	}
	// Format: token,user,uid,"group1,group2".
	tokens := fmt.Sprintf("%s,%s,%s-uid,\"system:masters\"\n%s,%s,%s-uid\n",
		c.adminToken, AdminUser, AdminUser, c.nobodyToken, UnprivilegedUser, UnprivilegedUser)
	files := map[string][]byte{
		c.saKeyFile: pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}),
		c.saPubFile: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}),
		c.tokenFile: []byte(tokens),
	}
	for path, data := range files {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return nil, fmt.Errorf("write credentials: %w", err)
		}
	}
	return c, nil
}

// startAPIServer runs kube-apiserver against cp's etcd and waits until it is
// ready and has created the default namespace.
func (cp *ControlPlane) startAPIServer(ctx context.Context, bin string, creds *credentials) error {
	certDir := filepath.Join(cp.dir, "apiserver-certs")
	for attempt := 1; ; attempt++ {
		ports, err := process.FreePorts(1)
		if err != nil {
			return err
		}
		if err := os.RemoveAll(certDir); err != nil {
			return fmt.Errorf("clean cert dir: %w", err)
		}
		args := append([]string{
			"--etcd-servers=" + cp.etcdURL,
			"--bind-address=127.0.0.1",
			// Loopback is the only address known to exist, but the endpoint reconciler
			// refuses to publish it in the "kubernetes" Endpoints, so turn that off.
			"--advertise-address=127.0.0.1",
			"--endpoint-reconciler-type=none",
			"--secure-port=" + strconv.Itoa(ports[0]),
			"--cert-dir=" + certDir,
			"--authorization-mode=RBAC",
			"--token-auth-file=" + creds.tokenFile,
			"--service-account-key-file=" + creds.saPubFile,
			"--service-account-signing-key-file=" + creds.saKeyFile,
			"--service-account-issuer=" + serviceAccountIssuer,
			"--api-audiences=" + serviceAccountIssuer,
			"--service-cluster-ip-range=10.0.0.0/16",
			"--service-node-port-range=30000-32767",
			"--allow-privileged=true",
			"--enable-priority-and-fairness=false",
			// No kube-controller-manager creates "default" ServiceAccounts, so the
			// ServiceAccount admission plugin would reject every Pod.
			"--disable-admission-plugins=ServiceAccount",
			"--profiling=false",
		}, cp.opts.ExtraAPIServerFlags...)
		p, err := cp.startChild("kube-apiserver", bin, args)
		if err != nil {
			return err
		}
		cp.apiserver = p
		host := "https://127.0.0.1:" + strconv.Itoa(ports[0])
		err = cp.waitAPIServer(ctx, host, filepath.Join(certDir, "apiserver.crt"), creds)
		if err == nil {
			return nil
		}
		if attempt < portAttempts && p.Exited() && p.LogContains("address already in use") {
			_ = p.Stop()
			continue
		}
		return err
	}
}

// waitAPIServer polls /readyz, then waits for the default namespace, and sets
// cp's REST configs and kubeconfig.
func (cp *ControlPlane) waitAPIServer(ctx context.Context, host, certFile string, creds *credentials) error {
	procs := []*process.Process{cp.etcd, cp.apiserver}
	var caData []byte
	var client *http.Client
	err := poll(ctx, procs, func(ctx context.Context) error {
		ca, err := readCA(certFile)
		if err != nil {
			return err
		}
		if client == nil || !bytes.Equal(ca, caData) {
			pool := x509.NewCertPool()
			pool.AppendCertsFromPEM(ca)
			caData = ca
			client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, host+"/readyz", nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+creds.adminToken)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET /readyz: %s", resp.Status)
		}
		return nil
	})
	if client != nil {
		client.CloseIdleConnections()
	}
	if err != nil {
		return fmt.Errorf("wait for /readyz: %w", err)
	}

	cp.admin = newRESTConfig(host, caData, creds.adminToken)
	cp.nobody = newRESTConfig(host, caData, creds.nobodyToken)
	cs, err := kubernetes.NewForConfig(cp.admin)
	if err != nil {
		return fmt.Errorf("create client: %w", err)
	}
	err = poll(ctx, procs, func(ctx context.Context) error {
		_, err := cs.CoreV1().Namespaces().Get(ctx, metav1.NamespaceDefault, metav1.GetOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("wait for namespace %q: %w", metav1.NamespaceDefault, err)
	}
	return cp.writeKubeconfig(host, caData, creds.adminToken)
}

// readCA returns the PEM of the CA certificates in the bundle kube-apiserver
// self-signs into its cert dir; it fails until the file is completely written.
func readCA(certFile string) ([]byte, error) {
	data, err := os.ReadFile(certFile)
	if err != nil {
		return nil, err
	}
	var ca []byte
	for block, rest := pem.Decode(data); block != nil; block, rest = pem.Decode(rest) {
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", certFile, err)
		}
		if cert.IsCA {
			ca = append(ca, pem.EncodeToMemory(block)...)
		}
	}
	if ca == nil {
		return nil, errors.New(certFile + " holds no CA certificate yet")
	}
	return ca, nil
}

// newRESTConfig returns a config for host trusting caData and authenticating with token.
func newRESTConfig(host string, caData []byte, token string) *rest.Config {
	return &rest.Config{
		Host:            host,
		BearerToken:     token,
		TLSClientConfig: rest.TLSClientConfig{CAData: caData},
		// Tests issue bursts of requests; client-go's default of 5 QPS would throttle them.
		QPS:   100,
		Burst: 200,
	}
}

// writeKubeconfig writes an admin kubeconfig for host into cp's directory.
func (cp *ControlPlane) writeKubeconfig(host string, caData []byte, token string) error {
	const name = "cloudlb-controlplane"
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[name] = &clientcmdapi.Cluster{Server: host, CertificateAuthorityData: caData}
	cfg.AuthInfos[AdminUser] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: AdminUser, Namespace: metav1.NamespaceDefault}
	cfg.CurrentContext = name
	path := filepath.Join(cp.dir, "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	cp.kubeconfig = path
	return nil
}
