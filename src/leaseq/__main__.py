from leaseq.cli import main

main()
