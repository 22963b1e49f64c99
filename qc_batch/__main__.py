from qc_batch.cli import main

main()
