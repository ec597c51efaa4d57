"""One package per emulated/connected API; ``registry`` lists them."""
