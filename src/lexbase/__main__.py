from lexbase.commands.cli import main

main()
