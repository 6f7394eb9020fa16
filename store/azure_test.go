package store_test

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/evalnll/evalnll/store"
)

// The well-known Azurite account.
const (
	azAccount = "devstoreaccount1"
	azKey     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// azurite finds the azurite-blob command: $EVALNLL_AZURITE, then PATH
// (`npm install azurite` puts it in node_modules/.bin).
func azurite(t *testing.T) string {
	if p := os.Getenv("EVALNLL_AZURITE"); p != "" {
		return p
	}
	p, err := exec.LookPath("azurite-blob")
	if err != nil {
		t.Skip("Azurite not found: set EVALNLL_AZURITE to node_modules/.bin/azurite-blob of `npm install azurite` (node required) to test azblob:// URLs")
	}
	return p
}

// TestAzurite reads, lists, writes and pins objects through azblob:// URLs
// against Azurite started on loopback.
func TestAzurite(t *testing.T) {
	bin := azurite(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "--blobHost", "127.0.0.1", "--blobPort", strconv.Itoa(port), "--silent", "--disableTelemetry", "--skipApiVersionCheck", "--inMemoryPersistence")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := "127.0.0.1:" + strconv.Itoa(port)
	// Ready when it accepts connections (node takes a few seconds to start).
	for deadline := time.Now().Add(60 * time.Second); ; {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Azurite did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Setenv("AZURE_STORAGE_ACCOUNT", azAccount)
	t.Setenv("AZURE_STORAGE_KEY", azKey)
	cred, err := azblob.NewSharedKeyCredential(azAccount, azKey)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := azblob.NewClientWithSharedKeyCredential("http://"+addr+"/"+azAccount, cred, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := svc.CreateContainer(ctx, "cont", nil); err != nil {
		t.Fatal(err)
	}
	q := "?protocol=http&domain=" + addr + "&localemu=true"
	u := func(key string) string { return "azblob://cont/" + key + q }
	c := testClient()
	defer c.Close()
	data := randomBytes(500<<10, 7)
	for _, k := range []string{"d/a.parquet", "d/e/b.arrow", "d/c.txt"} {
		if err := c.Put(ctx, u(k), data, ""); err != nil {
			t.Fatal(err)
		}
	}
	got, err := c.Expand(ctx, u("d/"), map[string]bool{".parquet": true, ".arrow": true})
	if err != nil || !slices.Equal(got, []string{u("d/a.parquet"), u("d/e/b.arrow")}) {
		t.Fatalf("Expand %v %v", got, err)
	}
	o, err := c.Open(ctx, u("d/a.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	readPattern(t, o, data)
	o, err = c.Open(ctx, u("d/e/b.arrow"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Put(ctx, u("d/e/b.arrow"), randomBytes(len(data), 8), ""); err != nil {
		t.Fatal(err)
	}
	if _, err := o.ReadAt(make([]byte, 10), 0); !errors.Is(err, store.ErrChanged) {
		t.Errorf("replaced object: %v", err)
	}
	if _, err := c.Open(ctx, u("missing")); kind(err) != store.Permanent {
		t.Errorf("missing: %v", err)
	}
}
