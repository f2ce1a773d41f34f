from lexbase.cli import main

main()
