"""Word lists from which the generator draws labels and people (accents on purpose)."""

from __future__ import annotations

COMPONENTS: tuple[tuple[str, str], ...] = (
    ("UFR Sciences et technologies", "Sciences"),
    ("UFR Droit et science politique", "Droit"),
    ("UFR Lettres et langues", "Lettres"),
    ("UFR Sciences de l'homme", "SH"),
    ("UFR Économie, gestion et AES", "Éco-gestion"),
    ("UFR Sciences médicales", "Médecine"),
    ("UFR STAPS", "STAPS"),
    ("Institut d'œnologie et de la vigne", "Œnologie"),
    ("Collège Santé publique", "Santé pub."),
    ("UFR Biologie", "Biologie"),
    ("UFR Humanités", "Humanités"),
    ("Institut d'administration des entreprises", "IAE"),
    ("UFR Chimie", "Chimie"),
    ("UFR Géosciences", "Géosciences"),
)

DISCIPLINES: tuple[str, ...] = (
    "Mathématiques", "Informatique", "Physique", "Chimie", "Sciences de la vie",
    "Droit privé", "Droit public", "Économie", "Gestion", "Histoire", "Géographie",
    "Psychologie", "Sociologie", "Lettres modernes", "Langues étrangères appliquées",
    "Philosophie", "Sciences de l'éducation", "Biologie cellulaire", "Sciences de la Terre",
    "Électronique", "Mécanique", "Génie civil", "Santé publique", "Pharmacologie",
    "Études anglophones", "Études hispaniques", "Études germaniques", "Arts plastiques",
    "Musicologie", "Information-communication", "Administration publique",
    "Science politique", "Archéologie", "Œnologie", "Anthropologie", "Écologie",
    "Neurosciences", "Génétique", "Biochimie", "Énergétique", "Statistique",
    "Comptabilité", "Finance", "Marketing", "Ergonomie", "Linguistique",
)

TRACKS: tuple[str, ...] = (
    "", "parcours international", "parcours recherche", "parcours professionnel",
    "parcours enseignement", "parcours renforcé", "parcours accès santé", "parcours numérique",
)

SUBJECTS: tuple[str, ...] = (
    "Méthodologie", "Fondamentaux", "Analyse", "Algèbre", "Probabilités", "Programmation",
    "Thermodynamique", "Optique", "Électromagnétisme", "Anglais", "Espagnol", "Allemand",
    "Histoire contemporaine", "Géopolitique", "Droit des obligations", "Droit constitutionnel",
    "Microéconomie", "Macroéconomie", "Comptabilité générale", "Statistique descriptive",
    "Écologie des populations", "Génétique moléculaire", "Biologie végétale", "Immunologie",
    "Épistémologie", "Sémiologie", "Littérature française", "Théâtre", "Cartographie",
    "Projet tutoré", "Stage", "Mémoire", "Préprofessionnalisation", "Culture numérique",
    "Expression écrite", "Éthique", "Sociologie des organisations", "Psychologie cognitive",
    "Bases de données", "Réseaux", "Systèmes d'exploitation", "Chimie organique",
    "Chimie minérale", "Cristallographie", "Mécanique des fluides", "Résistance des matériaux",
)

SURNAMES: tuple[str, ...] = (
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy",
    "Moreau", "Simon", "Laurent", "Lefèbvre", "Michel", "Garcia", "David", "Bertrand", "Roux",
    "Vincent", "Fournier", "Morel", "Girard", "André", "Lefèvre", "Mercier", "Dupont",
    "Lambert", "Bonnet", "François", "Martínez", "Legrand", "Garnier", "Faure", "Rousseau",
    "Blanc", "Guérin", "Müller", "Henry", "Roussel", "Nicolas", "Perrin", "Morin", "Mathieu",
    "Clément", "Gauthier", "Dumont", "Lopez", "Fontaine", "Chevalier", "Robin", "Masson",
    "Sánchez", "Gérard", "Nguyen", "Boyer", "Denis", "Lemaire", "Duval", "Joly", "Gautier",
    "Roger", "Roche", "Roy", "Noël", "Meyer", "Lucas", "Meunier", "Jean", "Pérez", "Marchand",
    "Dufour", "Blanchard", "Marie", "Barbier", "Brun", "Dumas", "Brunet", "Schmitt", "Leroux",
    "Colin", "Fernandez", "Pierre", "Renard", "Arnaud", "Rolland", "Caron", "Aubert",
    "Giraud", "Leclerc", "Vidal", "Bourgeois", "Renaud", "Lemoine", "Picard", "Gaillard",
    "Philippe", "Leclercq", "Lacroix", "Fabre", "Dupuis", "Olivier", "Rodriguez", "Da Silva",
    "Hubert", "Louis", "Charles", "Guillot", "Rivière", "Le Gall", "Guillaume", "Adam", "Rey",
    "Moulin", "Gonzalez", "Berger", "Lecomte", "Ménard", "Fleury", "Deschamps", "Carpentier",
    "Julien", "Benoît", "Paris", "Maillard", "Marchal", "Aubry", "Vasseur", "Le Roux",
    "Renault", "Jacquet", "Collet", "Prévost", "Poirier", "Charpentier", "Royer", "Huet",
    "Baron", "Dupuy", "Pons", "Paul", "Laine", "Carré", "Breton", "Rémy", "Schneider", "Perrot",
    "Guyot", "Barre", "Marty", "Cousin", "Ben Ali", "Diallo", "Traoré", "Haddad", "Kowalski",
)

FIRST_NAMES: tuple[str, ...] = (
    "Léa", "Chloé", "Manon", "Emma", "Inès", "Camille", "Sarah", "Jade", "Louise", "Zoé",
    "Lucas", "Hugo", "Théo", "Nathan", "Enzo", "Louis", "Mathis", "Gabriel", "Raphaël", "Noé",
    "Clément", "Maxime", "Thomas", "Antoine", "Paul", "Jules", "Arthur", "Adam", "Yanis",
    "Océane", "Anaïs", "Maëlys", "Éloïse", "Juliette", "Lou", "Alice", "Lina", "Ambre",
    "Noémie", "Mathilde", "Élise", "Clémence", "Margaux", "Agathe", "Héloïse", "Romane",
    "Baptiste", "Valentin", "Quentin", "Alexandre", "Florian", "Kévin", "Jérémy", "Benoît",
    "Aurélien", "Joël", "François", "Gaëlle", "Solène", "Maëva", "Loïc", "Anaëlle", "Yasmine",
    "Mohamed", "Amine", "Fatoumata", "Aïcha", "Bilal", "Ibrahim", "Wassim", "Nour", "Chen",
)
