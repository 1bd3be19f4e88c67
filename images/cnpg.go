package images

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// cnpgPackages are the Debian packages of the CloudNativePG operand
// image: PostgreSQL of Debian's suite and the locale the operator's
// initdb asks for.
var cnpgPackages = []string{"postgresql-" + cnpgPostgresMajor, "locales", "ca-certificates"}

// cnpgPostgresMajor is the PostgreSQL major version of Debian's suite
// (bookworm ships 15). CloudNativePG reads the major version from the
// image tag, which therefore starts with it.
const cnpgPostgresMajor = "15"

// cnpgSetup prepares the root filesystem before PostgreSQL is installed:
// CloudNativePG runs the instance as uid and gid 26 (Debian gives gid 26
// to tape), and the operator's initdb makes the cluster, not Debian's
// postinst.
const cnpgSetup = `set -e
groupdel tape 2>/dev/null || true
groupadd -r -g 26 postgres
useradd -r -u 26 -g 26 -d /var/lib/postgresql -s /bin/bash postgres
mkdir -p /etc/postgresql-common/createcluster.d
echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.d/00-faultline.conf
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d
`

// cnpgInstall installs PostgreSQL and the locale in the chroot and
// removes what an image does not need.
const cnpgInstall = `set -e
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends PACKAGES
echo 'en_US.UTF-8 UTF-8' > /etc/locale.gen
locale-gen
apt-get clean
rm -rf /var/lib/apt/lists/* /usr/share/doc /usr/share/man /usr/sbin/policy-rc.d
mkdir -p /var/lib/postgresql/data
chown -R 26:26 /var/lib/postgresql
`

// cnpgPostgres builds the CloudNativePG operand image ref from Debian's
// PostgreSQL packages: the programs the instance manager runs (initdb,
// postgres, pg_ctl, pg_controldata, pg_basebackup) on PATH, running as
// uid 26, as the operator's documentation asks of operand images.
func (b *builder) cnpgPostgres(ctx context.Context, ref string) error {
	root, err := b.aptRootfs(ctx, "rootfs-cnpg", cnpgSetup, cnpgInstall, cnpgPackages)
	if err != nil {
		return err
	}
	bin := "/usr/lib/postgresql/" + cnpgPostgresMajor + "/bin"
	return b.importDir(ctx, root, ref, []string{
		"ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:" + bin,
		"ENV LANG=en_US.utf8",
		"ENV PGDATA=/var/lib/postgresql/data/pgdata",
		"USER 26",
	})
}

// cnpgTag is the operand image's tag: the PostgreSQL major version (which
// CloudNativePG reads from the tag) and a hash of its own inputs only, so
// that it and the other images rebuild independently.
func cnpgTag(v Versions) string {
	h := sha256.New()
	fmt.Fprintf(h, "image %s\ndebian %s\npackages %v\n%s\n%s", CNPGPostgres, v.Debian, cnpgPackages, cnpgSetup, cnpgInstall)
	return cnpgPostgresMajor + "-" + hex.EncodeToString(h.Sum(nil))[:12]
}

// OfficialCNPGPostgres is the operand image the cloudnativepg engine
// deploys by default; the local build (PostgreSQL 15 of Debian's suite)
// stands in for it on kind.
const OfficialCNPGPostgres = "ghcr.io/cloudnative-pg/postgresql:18.4-system-trixie"

// aptRootfs makes the root filesystem dir (under the build's work
// directory) of an image built from Debian's packages: debootstrap, then
// setup (users, configuration) and install (apt, with PACKAGES replaced by
// packages) run in it by chroot, with the host's resolver and /proc
// mounted for the install only. It returns the directory.
func (b *builder) aptRootfs(ctx context.Context, dir, setup, install string, packages []string) (string, error) {
	root := b.path(dir)
	if err := b.debootstrap(ctx, root, []string{"ca-certificates"}); err != nil {
		return "", err
	}
	if err := b.cmd(ctx, b.work, nil, nil, "chroot", root, "/bin/bash", "-c", setup); err != nil {
		return "", err
	}
	if err := copyFile("/etc/resolv.conf", filepath.Join(root, "etc/resolv.conf"), 0o644); err != nil {
		return "", err
	}
	if err := b.cmd(ctx, b.work, nil, nil, "mount", "-t", "proc", "proc", filepath.Join(root, "proc")); err != nil {
		return "", err
	}
	err := b.cmd(ctx, b.work, nil, nil, "chroot", root, "/bin/bash", "-c", strings.ReplaceAll(install, "PACKAGES", strings.Join(packages, " ")))
	if uerr := b.cmd(context.WithoutCancel(ctx), b.work, nil, nil, "umount", filepath.Join(root, "proc")); err == nil {
		err = uerr
	}
	if err != nil {
		return "", err
	}
	if err := os.Remove(filepath.Join(root, "etc/resolv.conf")); err != nil && !os.IsNotExist(err) {
		return "", err
	}
	return root, nil
}
