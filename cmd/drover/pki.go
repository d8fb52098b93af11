package main

import (
	"context"
	"fmt"
	"io/fs"
	"net"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/droverlab/drover/backend/pki"
	"github.com/droverlab/drover/scheduler/cluster"
)

// pkiCmd is `drover pki`: the cluster CA, host and client certificates for
// libvirt and QEMU TLS, their inspection, and a live host's security state.
func pkiCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "pki",
		Short: "CA and certificates for libvirt and QEMU TLS",
		Long: "Makes the cluster CA, host certificates laid out where libvirtd and QEMU read them, and drover's\n" +
			"client certificate; inspects a host's files; probes a live host for its security state.",
	}
	c.AddCommand(pkiInitCmd(), pkiIssueCmd(), pkiInspectCmd(), pkiProbeCmd())
	return c
}

func pkiInitCmd() *cobra.Command {
	var (
		dir, name, key string
		valid          time.Duration
	)
	c := &cobra.Command{
		Use:   "init --dir DIR [--name drover-ca] [--valid 87600h]",
		Short: "Make the cluster CA in DIR (ca-cert.pem, ca-key.pem); never overwrites",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ca, err := pki.NewCAKey(name, valid, time.Now(), pki.KeyType(key))
			if err != nil {
				return err
			}
			if err := ca.Save(dir); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "CA %q (%s) valid until %s: %s, %s (0600)\n", name, ca.KeyType,
				ca.Cert.NotAfter.Format(time.RFC3339), filepath.Join(dir, pki.CACertFile), filepath.Join(dir, pki.CAKeyFile))
			return nil
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "directory of the CA (required)")
	c.Flags().StringVar(&name, "name", "drover-ca", "common name of the CA")
	c.Flags().DurationVar(&valid, "valid", pki.DefaultCAValidity, "validity of the CA")
	c.Flags().StringVar(&key, "key", string(pki.ECDSAP256), "key type of the CA and of what it issues: ecdsa-p256 or rsa-3072")
	c.MarkFlagRequired("dir")
	return c
}

func pkiIssueCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "issue host|client",
		Short: "Issue a host or client certificate from the CA",
	}
	c.AddCommand(pkiIssueHostCmd(), pkiIssueClientCmd())
	return c
}

func pkiIssueHostCmd() *cobra.Command {
	var (
		dir, out, keyMode string
		dns               []string
		ips               []net.IP
		valid             time.Duration
		keyGID            int
	)
	c := &cobra.Command{
		Use:   "host NAME --ip ADDR --dns NAME --dir DIR [--out ROOT]",
		Short: "Issue a host certificate and lay it out for libvirtd and QEMU under ROOT",
		Long: "Issues a certificate for host NAME (server and client use; NAME, every --ip and every --dns as SANs:\n" +
			"include the host's migration_host address) and writes the libvirt and QEMU files under ROOT\n" +
			"(default DIR/hosts/NAME), as etc/pki/... relative to ROOT; copy that tree to the host's /.\n" +
			"QEMU's keys are 0600: run QEMU as root (user = \"root\" in qemu.conf), or pass --qemu-key-mode 0640\n" +
			"and --qemu-key-gid of libvirt-qemu's group.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			mode, err := strconv.ParseUint(keyMode, 8, 32)
			if err != nil || mode > 0o777 {
				return fmt.Errorf("--qemu-key-mode: want an octal mode such as 0600, got %q", keyMode)
			}
			ca, err := pki.LoadCA(dir)
			if err != nil {
				return err
			}
			name := args[0]
			h, err := ca.IssueHost(pki.HostSpec{Name: name, DNS: dns, IPs: ips, ValidFor: valid}, time.Now())
			if err != nil {
				return err
			}
			if out == "" {
				out = filepath.Join(dir, "hosts", name)
			}
			opt := pki.LayoutOptions{QEMUKeyMode: fs.FileMode(mode), QEMUKeyGID: keyGID}
			if err := pki.WriteHostLayout(out, ca, h, opt); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "host %q valid until %s for %v %v: %s\n", name,
				h.Cert.NotAfter.Format(time.RFC3339), h.Cert.DNSNames, h.Cert.IPAddresses, out)
			return nil
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "directory of the CA (required)")
	c.Flags().StringVar(&out, "out", "", "root to lay the host's files under (default DIR/hosts/NAME)")
	c.Flags().IPSliceVar(&ips, "ip", nil, "IP SAN, repeatable: every address peers use, migration_host included")
	c.Flags().StringSliceVar(&dns, "dns", nil, "DNS SAN, repeatable")
	c.Flags().DurationVar(&valid, "valid", pki.DefaultHostValidity, "validity (capped at the CA's)")
	c.Flags().StringVar(&keyMode, "qemu-key-mode", "0600", "mode of QEMU's key files")
	c.Flags().IntVar(&keyGID, "qemu-key-gid", 0, "group of QEMU's key files (0: unchanged)")
	c.MarkFlagRequired("dir")
	return c
}

func pkiIssueClientCmd() *cobra.Command {
	var (
		dir, out string
		valid    time.Duration
	)
	c := &cobra.Command{
		Use:   "client [NAME] --dir DIR [--out CLIENTDIR]",
		Short: "Issue drover's client certificate (default NAME drover) into CLIENTDIR",
		Long: "Writes cacert.pem, clientcert.pem and clientkey.pem (0600) into CLIENTDIR (default DIR/clients/NAME),\n" +
			"the names libvirt's clients read from $HOME/.pki/libvirt. `drover pki probe --client` reads them.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := "drover"
			if len(args) == 1 {
				name = args[0]
			}
			ca, err := pki.LoadCA(dir)
			if err != nil {
				return err
			}
			cl, err := ca.IssueClient(name, valid, time.Now())
			if err != nil {
				return err
			}
			if out == "" {
				out = filepath.Join(dir, "clients", name)
			}
			if err := pki.WriteClientLayout(out, ca, cl); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "client %q valid until %s: %s\n", name, cl.Cert.NotAfter.Format(time.RFC3339), out)
			return nil
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "directory of the CA (required)")
	c.Flags().StringVar(&out, "out", "", "directory to write the client files to (default DIR/clients/NAME)")
	c.Flags().DurationVar(&valid, "valid", pki.DefaultClientValidity, "validity (capped at the CA's)")
	c.MarkFlagRequired("dir")
	return c
}

func pkiInspectCmd() *cobra.Command {
	var (
		root, caFile, at string
		names            []string
	)
	c := &cobra.Command{
		Use:   "inspect --root ROOT --ca CA.pem --name ADDR [--name NAME...]",
		Short: "Check a host's libvirt and QEMU certificate files; exit 1 if invalid",
		Long: "Checks the files under ROOT (/ on a host) against the cluster CA: CA files, key modes and pairs,\n" +
			"chain, dates, usages and every --name as a SAN. Prints one line per finding.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			pool, err := pki.LoadCertPool(caFile)
			if err != nil {
				return err
			}
			now := time.Now()
			if at != "" {
				if now, err = time.Parse(time.RFC3339, at); err != nil {
					return fmt.Errorf("--at: %w", err)
				}
			}
			r := pki.InspectHost(root, pool, names, now)
			w := cmd.OutOrStdout()
			for _, f := range r.Findings {
				fmt.Fprintln(w, f)
			}
			if !r.Valid {
				fmt.Fprintf(w, "host %q under %s: invalid (%d of %d checks failed)\n", r.Host, root, len(r.Failures()), len(r.Findings))
				return exitError{exitFailed}
			}
			fmt.Fprintf(w, "host %q under %s: valid\n", r.Host, root)
			return nil
		},
	}
	c.Flags().StringVar(&root, "root", "/", "root the host's etc/pki lies under")
	c.Flags().StringVar(&caFile, "ca", "", "the cluster CA certificate, e.g. DIR/ca-cert.pem (required)")
	c.Flags().StringArrayVar(&names, "name", nil, "name or address peers use for the host, repeatable (required)")
	c.Flags().StringVar(&at, "at", "", "check at this RFC 3339 time instead of now")
	c.MarkFlagRequired("ca")
	c.MarkFlagRequired("name")
	return c
}

func pkiProbeCmd() *cobra.Command {
	var (
		client           string
		tlsPort, tcpPort int
		timeout          time.Duration
	)
	c := &cobra.Command{
		Use:   "probe ADDR --client CLIENTDIR [--tls-port 16514 --tcp-port 16509]",
		Short: "Print a live host's security state: tls, tcp or invalid, and why",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := pki.ClientTLSConfig(client, "")
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			ctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			st, why, err := pki.Probe(ctx, args[0], tlsPort, tcpPort, cfg)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %s (%s)\n", args[0], st, why)
			if st == cluster.Invalid {
				return exitError{exitFailed} // no migration may touch it
			}
			return nil
		},
	}
	c.Flags().StringVar(&client, "client", "", "drover's client directory, from `pki issue client` (required)")
	c.Flags().IntVar(&tlsPort, "tls-port", pki.TLSPort, "libvirtd's TLS port")
	c.Flags().IntVar(&tcpPort, "tcp-port", pki.TCPPort, "libvirtd's TCP port")
	c.Flags().DurationVar(&timeout, "timeout", 5*time.Second, "bound on the whole probe")
	c.MarkFlagRequired("client")
	return c
}
