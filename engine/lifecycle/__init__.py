"""From a due task to its next state: the manager (time), dialer (claims), one attempt
(dial, converse, store, analyse, move), the dial policy, retries, verdicts, recovery and sweeps."""
