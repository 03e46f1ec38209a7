# In the style of the 2009 djng examples (simonw/djng): the same calls, written anew.
import djng

def greet(request):
    # The smallest djng site there is: one view, served directly.
    return djng.Response('Greetings from a single djng view')

if __name__ == '__main__':
    djng.serve(greet, '0.0.0.0', 8888)
