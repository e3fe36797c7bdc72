"""Use cases: the only layer the interfaces call. Each public function is one transaction."""
