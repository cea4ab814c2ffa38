"""What every package of mt_aug needs, importing no other package of it: library versions
(`versions`), file hashes and named OS errors (`files`, `fingerprint`), and where work units
run (`executor`: `Resources`, the `UnitRunner` protocol, `LocalUnits`)."""
