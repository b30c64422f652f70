from launcher.stack.cli import stack

stack(prog_name="fusion stack")
