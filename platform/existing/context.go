package existing

import (
	"errors"
	"fmt"

	"k8s.io/client-go/tools/clientcmd"
)

// CurrentContext is the current context of a kubeconfig (empty: the
// default loading rules, $KUBECONFIG then ~/.kube/config).
func CurrentContext(kubeconfig string) (string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if kubeconfig != "" {
		rules.ExplicitPath = kubeconfig
	}
	raw, err := rules.Load()
	if err != nil {
		return "", fmt.Errorf("kubeconfig: %w", err)
	}
	if raw.CurrentContext == "" {
		return "", errors.New("kubeconfig names no current context; set Options.Context")
	}
	return raw.CurrentContext, nil
}
