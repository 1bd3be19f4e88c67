package main

import "github.com/spf13/cobra"

// commands lists faultline's subcommands, one file each.
func commands() []*cobra.Command {
	return []*cobra.Command{
		newRunCmd(),
		newManifestsCmd(),
		newMatrixCmd(),
		newCheckCmd(),
		newCostCmd(),
		newReportCmd(),
		newHealCmd(),
		newDoctorCmd(),
		newImagesCmd(),
		newEnginesCmd(),
		newClusterCmd(),
		newListCmd(),
		newVersionCmd(),
	}
}
