"""The student side of the protocol. Everything in this package runs inside the sandbox."""
