package images

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"

	"github.com/faultline-dev/faultline/engines/vitess/dist"
)

// vitessPackages are the Debian packages of the Vitess image: the MariaDB
// server the tablets run (mariadbd, mariadb-install-db, which mysqlctl
// init runs) and its client programs.
var vitessPackages = []string{"mariadb-server", "mariadb-client"}

// VitessUID is the uid (and gid) the Vitess image's programs run as:
// mysqlctl refuses to run as root.
const VitessUID = 1000

// vitessSetup prepares the root filesystem before MariaDB is installed:
// the user every program runs as, and no service started by a postinst.
const vitessSetup = `set -e
groupadd -g 1000 vitess
useradd -u 1000 -g 1000 -d /vt -s /bin/bash vitess
mkdir -p /vt/bin /vt/vtdataroot
chown -R 1000:1000 /vt
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d
`

// vitessInstall installs MariaDB in the chroot and removes what an image
// does not need, the data directory Debian's postinst made among them
// (mysqlctl init makes each tablet's).
const vitessInstall = `set -e
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends PACKAGES
apt-get clean
rm -rf /var/lib/apt/lists/* /usr/share/doc /usr/share/man /usr/sbin/policy-rc.d /var/lib/mysql/*
`

// vitess builds the Vitess image ref: the programs of package dist's
// MariaDB build (the one `faultline engines build vitess` makes, built
// first if the cache lacks it) in /vt/bin, on a Debian root filesystem
// with MariaDB, running as uid VitessUID.
func (b *builder) vitess(ctx context.Context, ref string) error {
	d, err := dist.Build(ctx, dist.Options{Flavor: dist.MariaDB}, b.log)
	if err != nil {
		return err
	}
	root, err := b.aptRootfs(ctx, "rootfs-vitess", vitessSetup, vitessInstall, vitessPackages)
	if err != nil {
		return err
	}
	for _, p := range dist.Programs {
		if err := copyFile(d.Path(p), filepath.Join(root, "vt/bin", p), 0o755); err != nil {
			return err
		}
	}
	return b.importDir(ctx, root, ref, []string{
		"ENV PATH=/vt/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"ENV VTDATAROOT=/vt/vtdataroot",
		"ENV VT_MYSQL_ROOT=/usr",
		"WORKDIR /vt",
		fmt.Sprintf("USER %d", VitessUID),
	})
}

// vitessTag is the Vitess image's tag: the Vitess release, then a hash of
// its own inputs only (the programs' build key, which covers the module
// version and every compatibility change, and the Debian side), so that
// it and the other images rebuild independently.
func vitessTag(v Versions) string {
	h := sha256.New()
	fmt.Fprintf(h, "image %s\nprograms %s %v\ndebian %s\npackages %v\n%s\n%s",
		Vitess, dist.Key(dist.ModuleVersion, dist.MariaDB), dist.Programs, v.Debian, vitessPackages, vitessSetup, vitessInstall)
	return dist.Release(dist.ModuleVersion) + "-" + hex.EncodeToString(h.Sum(nil))[:12]
}

// OfficialVitess is the reference the vitess engine deploys on Kubernetes
// without vitess-operator, for the local build to stand in for. No
// registry publishes it: Vitess's own images run MySQL 8 and stock
// programs, and this one runs Debian's MariaDB with faultline's
// compatibility changes. Users with a registry push their build of
// `faultline images build vitess` under this name, or set engine.image.
const OfficialVitess = "faultline/vitess:v24.0.4-mariadb"
