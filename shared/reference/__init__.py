"""Reference data every service checks against: GB/T 2260 regions (`regions`), the GB 32100
unified social credit code (`credit_code`) and the catalogue of standardization domains
(`catalogue`). It imports nothing else of ours, so any service, tool or test may use it."""
