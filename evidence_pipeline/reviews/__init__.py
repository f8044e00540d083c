"""Access-review campaigns: populations frozen from verified daily evidence, packets out, signed decisions back."""
